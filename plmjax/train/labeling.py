"""Class scores of a trained run on any examples: one jitted, batched pass (PET's and self-training's labeling
of the unlabeled set, and the PVPs' accuracy on the labeled set before training).

The run is built from its config as training builds it (the same template, verbalizer and tokenizer), its
parameters restored from the workdir (the best checkpoint, the latest, or the starting ones); the examples are
encoded as its training data is (its source's encode_examples: prompts, or classifier inputs) and scored by its
objective's class_scores in evaluation batches.
"""

import time

import jax
import numpy as np

from plmjax.data.task_inputs import batch_iterator
from plmjax.train import partition, run_setup, sharding
from plmjax.train.evaluate_run import restore


def score_examples(config, workdir: str, examples: list[dict], which: str = "best") -> dict:
    """{"scores": [examples, classes] float32 (prompt class scores or classifier logits), "step": the step
    scored, "examples_per_second": of the scoring pass (compiled, batches dispatched back to back)}.
    examples: dicts with the task's text fields (labels unused)."""
    run = run_setup.prepare(config, workdir)
    try:
        state, frozen, step = restore(run, which)
        objective = run.setup.objective

        def scores(trainable, frozen, batch):
            return objective.class_scores(partition.merge(trainable, frozen), batch)

        scores = jax.jit(scores, out_shardings=sharding.replicated(run.mesh))
        features = run.source.encode_examples(examples)
        c = config.data
        # One length (no buckets): the batches keep the examples' order.
        plan = batch_iterator(features, c.eval_batch_size, seed=0, train=False, length_buckets=())
        batches = [sharding.global_batch(run.mesh, b) for b in plan]
        jax.block_until_ready(scores(state.trainable, frozen, batches[0]))  # compile outside the timing
        start = time.perf_counter()
        outputs = jax.device_get([scores(state.trainable, frozen, batch) for batch in batches])
        seconds = time.perf_counter() - start
        # In order, the padding rows last: the first len(examples) rows are the examples'.
        result = np.concatenate(outputs)[: len(examples)].astype(np.float32)
        return {"scores": result, "step": step, "examples_per_second": len(examples) / max(seconds, 1e-9)}
    finally:
        run.checkpoints.close()
