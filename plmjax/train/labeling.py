"""Class scores of a trained run on any examples: one jitted, batched pass (PET's and self-training's labeling
of the unlabeled set, and the PVPs' accuracy on the labeled set before training).

The run is built from its config as training builds it (the same template, verbalizer and tokenizer), its
parameters restored from the workdir (the best checkpoint, the latest, or the starting ones); the examples are
encoded as its training data is (prompts, or classifier inputs) and scored in evaluation batches.
"""

import time

import jax
import numpy as np

from plmjax import data
from plmjax.data.task_inputs import batch_iterator, tokenizer_path_for
from plmjax.hf import load_tokenizer
from plmjax.objectives.classification import classifier_logits
from plmjax.prompting.objective import PromptClassification
from plmjax.train import partition, run_setup, sharding
from plmjax.train.evaluate_run import restore


def _features(run, examples: list[dict]) -> dict:
    task = run.source.data.task
    if isinstance(run.setup.objective, PromptClassification):
        return run.source.encode_examples(examples)
    tokenizer = load_tokenizer(tokenizer_path_for(run.config.data, task, run.setup.pretrained_path))
    labelled = [{**e, "label": e.get("label", 0)} for e in examples]  # labels are not read
    return data.encode(tokenizer, labelled, task, run.config.data.max_length)


def score_examples(config, workdir: str, examples: list[dict], which: str = "best") -> dict:
    """{"scores": [examples, classes] float32 (prompt class scores or classifier logits), "step": the step
    scored, "examples_per_second": of the scoring pass (compiled, batches dispatched back to back)}.
    examples: dicts with the task's text fields (labels unused)."""
    run = run_setup.prepare(config, workdir)
    try:
        state, frozen, step = restore(run, which)
        objective = run.setup.objective

        def scores(trainable, frozen, batch):
            params = partition.merge(trainable, frozen)
            if isinstance(objective, PromptClassification):
                return objective.scores(params, batch)[0]
            return classifier_logits(objective.model, params, batch)

        replicated = sharding.replicated(run.mesh)
        scores = jax.jit(scores, out_shardings=replicated)
        features = _features(run, examples)
        c = config.data
        # One length (no buckets): the batches keep the examples' order.
        plan = batch_iterator(features, c.eval_batch_size, seed=0, train=False, length_buckets=())
        batches = [sharding.global_batch(run.mesh, b) for b in plan]
        jax.block_until_ready(scores(state.trainable, frozen, batches[0]))  # compile outside the timing
        start = time.perf_counter()
        outputs = jax.device_get([scores(state.trainable, frozen, batch) for batch in batches])
        seconds = time.perf_counter() - start
        weights = np.concatenate([np.asarray(b["weights"]) for b in batches])
        result = np.concatenate(outputs)[weights > 0].astype(np.float32)
        return {"scores": result, "step": step, "examples_per_second": len(examples) / max(seconds, 1e-9)}
    finally:
        run.checkpoints.close()
