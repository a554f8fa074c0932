"""A multi-task prompt run's batches and evaluation (data.mixture with objective "prompt"): every task's
examples as prompts of its own preset template, batches drawn from the mixture (plmjax.prompting.mixture),
and evaluation on each task's validation split, reported per task ("<task>/accuracy") and as the mean over
tasks ("accuracy", the selection metric).
"""

import jax
import numpy as np

from plmjax.data import DataError
from plmjax.data.task_inputs import batch_iterator, get_task, read_split, training_examples
from plmjax.prompting.mixture import MixtureBatches, mixing_rates
from plmjax.prompting.prompt_data import as_prompt_example, encode_prompts
from plmjax.train.evaluate import evaluate_objective


def mixture_tasks(data_config) -> list[tuple[object, object]]:
    """(task, its data config) for each entry of data.mixture ("task" or "task=data_dir")."""
    found, names = [], set()
    for entry in filter(None, (e.strip() for e in data_config.mixture.split(","))):
        name, _, directory = entry.partition("=")
        if name in names:
            raise DataError(f"data.mixture names task {name!r} twice")
        names.add(name)
        own = data_config.copy_and_resolve_references()
        with own.unlocked():
            own.task, own.data_dir, own.mixture = name, directory or None, ""
        task = get_task(own)
        if task.num_labels < 2:
            raise DataError(f"data.mixture: {name} is a regression task; prompts classify")
        found.append((task, own))
    if len(found) < 2:
        raise DataError(f"data.mixture={data_config.mixture!r} names fewer than two tasks")
    return found


class MixtureSource:
    has_validation = True
    selection_metric = "accuracy"  # the mean of the tasks' validation accuracies

    def __init__(self, config, tasks, specs, vocab_size: int, term_weights: dict):
        c = config.data
        self.config, self.tasks, self.specs, self.term_weights = config, tasks, specs, term_weights

        def encode(t, examples):
            task, spec = tasks[t][0], specs[t]
            prompts = [as_prompt_example(e, task.text_fields) for e in examples]
            features = encode_prompts(prompts, spec.template, spec.tokenizer, c.max_length, vocab_size)
            return features | {"task_ids": np.full(len(examples), t, np.int32)}

        self.train_features = [encode(t, training_examples(own, task)) for t, (task, own) in enumerate(tasks)]
        self.eval_features = [
            encode(t, read_split(task, "validation", c.max_eval_examples)) if "validation" in task.splits else None
            for t, (task, _) in enumerate(tasks)
        ]
        sizes = [len(f["input_ids"]) for f in self.train_features]
        self.rates = mixing_rates(sizes, c.mixture_cap, c.mixture_temperature)
        self.num_train = sum(sizes)
        self.num_eval = sum(len(f["input_ids"]) for f in self.eval_features if f is not None)
        self.steps_per_epoch = max(1, self.num_train // c.batch_size)
        self.description = "mixture of " + ", ".join(
            f"{task.name} ({n:,} train, rate {rate:.1%})"
            for (task, _), n, rate in zip(tasks, sizes, self.rates, strict=True)
        )

    def train_batches(self):
        c = self.config
        return MixtureBatches(self.train_features, self.rates, c.data.batch_size, seed=c.seed,
                              length_buckets=c.data.length_buckets, process_index=jax.process_index(),
                              process_count=jax.process_count())  # fmt: skip

    def evaluate(self, eval_step, trainable, frozen, mesh, split: str = "validation") -> dict | None:
        """Each task's validation metrics under "<task>/", their mean accuracy and loss, and the examples."""
        if split != "validation":
            return None
        c, results, accuracies, losses, examples = self.config.data, {}, [], [], 0.0
        for (task, _), features in zip(self.tasks, self.eval_features, strict=True):
            if features is None:
                continue
            batches = batch_iterator(features, c.eval_batch_size, seed=0, train=False, length_buckets=c.length_buckets)
            own = evaluate_objective(eval_step, trainable, frozen, batches, mesh, self.term_weights, task.metrics)
            results.update({f"{task.name}/{k}": v for k, v in own.items()})
            accuracies.append(own["accuracy"])
            losses.append(own["loss"])
            examples += own["examples"]
        return results | {"accuracy": float(np.mean(accuracies)), "loss": float(np.mean(losses)), "examples": examples}
