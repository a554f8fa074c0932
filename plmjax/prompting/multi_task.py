"""Multi-task prompted training with a masked LM: every example is a prompt of its own task (its template, its
label words), and a batch mixes tasks (plmjax.prompting.mixture). The model computes the MLM logits at the mask
for the union of all tasks' label words once; each row then reads its own task's classes from them.

    verbalizer = MultiTaskVerbalizer([task_a_words, task_b_words], tokenizer)   # each: one list per class
    objective = MultiTaskPromptClassification(model, verbalizer)                # batches carry "task_ids"

Scores are [batch, most classes]: a task with fewer classes fills the rest with -1e9, so they take no
probability in the cross-entropy and are never predicted. Each task's label words follow ManualVerbalizer's
rules (one token each; a class's score is the mean of its words' logits), and a task's rows score exactly
as that task's own ManualVerbalizer would.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

from plmjax.objectives.base import dropout_rngs
from plmjax.prompting.mask_outputs import mask_outputs
from plmjax.prompting.objective import PromptClassification, model_params
from plmjax.prompting.template import PromptError
from plmjax.prompting.verbalizer import ManualVerbalizer

ABSENT_CLASS = -1e9


class MultiTaskVerbalizer:
    def __init__(self, task_label_words, tokenizer):
        self.tasks = [ManualVerbalizer(words, tokenizer) for words in task_label_words]
        union = sorted({int(i) for task in self.tasks for i in task.word_ids})
        column = {word: k for k, word in enumerate(union)}
        self.word_ids = np.asarray(union, np.int32)
        self.num_classes = max(task.num_classes for task in self.tasks)
        most_words = max(int(np.bincount(task.word_class).max()) for task in self.tasks)
        # [tasks, classes, words]: the union columns of each task's class words (-1: none).
        self.table = np.full((len(self.tasks), self.num_classes, most_words), -1, np.int32)
        for t, task in enumerate(self.tasks):
            for c in range(task.num_classes):
                words = [column[int(w)] for w in task.word_ids[task.word_class == c]]
                self.table[t, c, : len(words)] = words
        self.class_counts = [task.num_classes for task in self.tasks]

    uses_cross_entropy = True
    term_weights: dict = {}  # noqa: RUF012 (read only)

    def init(self, rng, model, params):
        return None

    def task_scores(self, word_logits, task_ids):
        """[batch, classes]: each row's mean label-word logit per class of its task, ABSENT_CLASS beyond."""
        columns = jnp.asarray(self.table)[task_ids]  # [batch, classes, words]
        present = columns >= 0
        batch = word_logits.shape[0]
        gathered = jnp.take_along_axis(word_logits, jnp.maximum(columns, 0).reshape(batch, -1), axis=-1)
        gathered = gathered.reshape(columns.shape)
        counts = jnp.sum(present, axis=-1)
        means = jnp.sum(jnp.where(present, gathered, 0.0), axis=-1) / jnp.maximum(counts, 1)
        return jnp.where(counts > 0, means, ABSENT_CLASS)

    def scores(self, own_params, outputs):
        raise PromptError("a multi-task verbalizer scores a batch with its task ids: use MultiTaskPromptClassification")

    def loss_terms(self, own_params, outputs, labels, weights) -> dict:
        return {}

    def term_counts(self, labels, weights) -> dict:
        return {}


@dataclasses.dataclass(frozen=True)
class MultiTaskPromptClassification(PromptClassification):
    """The prompt objective over a mixture of tasks: batch["task_ids"] [batch] says each row's task."""

    def scores(self, params, batch, rng=None, deterministic=True):
        if batch["input_ids"].ndim == 3:
            raise PromptError("multi-task prompts take no demonstration sets")
        outputs = mask_outputs(self.model, model_params(params), batch, self.verbalizer.word_ids, deterministic,
                               dropout_rngs(rng, deterministic))  # fmt: skip
        return self.verbalizer.task_scores(outputs.word_logits, batch["task_ids"]), outputs
