"""A SimCSE run's batches and evaluation (objective.name = "simcse", plmjax.sentence.simcse).

Training rows are 2 or 3 views of one example ([rows, views, length]): a sentence twice (unsupervised; the
dropout masks differ, and objective.simcse.augmentation may change the second view too), a (sent0, sent1)
pair, or an (anchor, entailment, contradiction) triplet (plmjax.sentence.corpora reads SimCSE's layouts).
Evaluation is the paper's checkpoint selection: Spearman of the test-time embeddings' cosine on STS-B dev
(data.validation_files), through the one evaluation path of every objective (plmjax.train.evaluate).
"""

import jax
import numpy as np

from plmjax.data.batching import BatchIterator
from plmjax.sentence import augment, corpora, sts
from plmjax.sentence.prompt_embedding import SentenceTemplate, pad_views, template_features
from plmjax.train.evaluate import evaluate_objective

STS_METRICS = ("spearman", "pearson")


class ViewBatches(BatchIterator):
    """BatchIterator over examples of several token sequences each: input_ids, attention_mask and
    token_type_ids [B/P, views, L]. A row's length (its bucket) is that of its longest view. `augmentation`
    changes the second view of each row, seeded by (seed, epoch, batch position, example index)."""

    def __init__(self, views, labels, batch_size, *, pad_token_id=0, augmentation="", rate=0.1, extras=None,
                 **kwargs):  # fmt: skip
        longest = [max(example, key=len) for example in views]
        features = {"input_ids": longest, "token_type_ids": longest, "labels": labels, "pad_token_id": pad_token_id}
        super().__init__(features, batch_size, **kwargs)
        self.views, self.num_views = views, len(views[0])
        # Fixed-shape per-example arrays carried into the batch (PromptBERT's template features).
        self.extras = extras or {}
        augment.check_augmentation(augmentation)
        self.augmentation, self.rate = augmentation, rate

    def _materialise(self, global_indices, length):
        mine = self.local_indices(global_indices)
        rows, views = len(mine), self.num_views
        batch = {
            "input_ids": np.full((rows, views, length), self._pad_token_id, np.int32),
            "attention_mask": np.zeros((rows, views, length), np.int32),
            "token_type_ids": np.zeros((rows, views, length), np.int32),
            "labels": np.zeros(rows, self._labels.dtype),
            "weights": (mine >= 0).astype(np.float32),
        }
        for row, index in enumerate(mine):
            if index < 0:
                continue  # a padding row: weight 0
            for view, ids in enumerate(self.views[index]):
                batch["input_ids"][row, view, : len(ids)] = ids
                batch["attention_mask"][row, view, : len(ids)] = 1
            batch["labels"][row] = self._labels[index]
        for key, values in self.extras.items():
            batch[key] = values[np.maximum(mine, 0)] * (mine >= 0).reshape((-1,) + (1,) * (values.ndim - 1))
        if self.augmentation:
            rngs = [np.random.default_rng([self.seed, self._epoch, self._position, max(i, 0)]) for i in mine]
            ids, mask = augment.augment_view(batch["input_ids"][:, 1], batch["attention_mask"][:, 1],
                                             self.augmentation, self.rate, rngs)  # fmt: skip
            batch["input_ids"][:, 1], batch["attention_mask"][:, 1] = ids, mask
        return batch


class SentenceSource:
    """data.corpus_files (one file: .txt sentences or a .csv of pairs / triplets) and data.validation_files
    (STS-B's dev TSV, or "" for no evaluation)."""

    selection_metric = STS_METRICS[0]

    def __init__(self, config, tokenizer, term_weights: dict):
        c, s = config.data, config.objective.simcse
        self.config, self.tokenizer, self.term_weights = config, tokenizer, term_weights
        files = [f for f in c.corpus_files.split(",") if f]
        if len(files) != 1:
            raise ValueError(f"simcse: data.corpus_files must name one file (.txt or .csv), not {c.corpus_files!r}")
        if files[0].endswith(".csv"):
            rows = corpora.read_pairs_or_triplets(files[0])
            if s.augmentation:
                raise ValueError("objective.simcse.augmentation is for unsupervised runs (a .txt corpus)")
        else:
            rows = [(sentence,) for sentence in corpora.read_sentences(files[0])]
        if c.max_train_examples:
            rows = rows[: c.max_train_examples]
        self.templates = None
        if s.template or s.template2:
            if s.augmentation:
                raise ValueError("objective.simcse.augmentation and a template (PromptBERT) do not combine")
            if s.pooler != "mask" or not s.template:
                raise ValueError("a template (PromptBERT) needs objective.simcse.pooler='mask' and template set")
            first = SentenceTemplate.parse(s.template, tokenizer)
            self.templates = (first, SentenceTemplate.parse(s.template2, tokenizer) if s.template2 else first)
        elif s.pooler == "mask":
            raise ValueError("objective.simcse.pooler='mask' reads a template's [MASK]: set objective.simcse.template")
        self.train_views, self.train_extras = self._encode_rows(rows, copies=2 if len(rows[0]) == 1 else 1)
        self.num_train = len(rows)
        self.steps_per_epoch = self.num_train // c.batch_size
        self.eval_views, self.eval_gold, self.eval_extras = None, None, None
        if c.validation_files:
            first, second, gold = sts.read_stsb(c.validation_files)
            pairs = list(zip(first, second, strict=True))
            (self.eval_views, self.eval_extras), self.eval_gold = self._encode_rows(pairs, test=True), gold
        self.has_validation = self.eval_views is not None
        self.num_eval = 0 if self.eval_views is None else len(self.eval_views)
        kind = {1: "sentences", 2: "pairs", 3: "triplets"}[len(rows[0])]
        self.description = f"simcse on {files[0]}: {self.num_train:,} {kind}" + (
            f"; STS-B dev {c.validation_files}: {self.num_eval:,} pairs" if self.has_validation else ""
        )

    def _encode_rows(self, rows, copies: int = 1, test: bool = False) -> tuple[list[tuple], dict | None]:
        """(each row's texts as token id lists, the same list `copies` times for a single sentence; the
        template features of every row and view, or None). With templates, view v of a row takes template v
        (the second for every view after the first: hard negatives too); test pairs take the first for both."""
        texts = [text for row in rows for text in row]
        width, views = len(rows[0]), len(rows[0]) * copies
        max_length = self.config.data.max_length
        if self.templates is None:
            ids = self.tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
            return [tuple(ids[i * width : (i + 1) * width]) * copies for i in range(len(rows))], None
        ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        denoise = self.config.objective.simcse.denoise
        features = []
        for i in range(len(rows)):
            sentences = ids[i * width : (i + 1) * width] * copies
            chosen = [self.templates[0 if test or v == 0 else 1] for v in range(views)]
            features.append(
                [template_features(t, s, max_length, denoise) for t, s in zip(chosen, sentences, strict=True)]
            )
        views_ids = [tuple(view["ids"] for view in row) for row in features]
        return views_ids, pad_views(features, self.tokenizer.pad_token_id or 0)

    def _batches(self, views, labels, train: bool, extras=None):
        c, s = self.config.data, self.config.objective.simcse
        return ViewBatches(
            views, labels, c.batch_size if train else c.eval_batch_size,
            pad_token_id=self.tokenizer.pad_token_id or 0, augmentation=s.augmentation if train else "",
            rate=s.cutoff_rate, seed=self.config.seed, shuffle=train, drop_remainder=train,
            length_buckets=tuple(c.length_buckets), process_index=jax.process_index(),
            process_count=jax.process_count(), extras=extras,
        )  # fmt: skip

    def train_batches(self):
        return self._batches(self.train_views, np.zeros(self.num_train, np.int32), train=True, extras=self.train_extras)

    def evaluate(self, eval_step, trainable, frozen, mesh, split: str = "validation") -> dict | None:
        if split != "validation" or not self.has_validation:
            return None
        batches = self._batches(
            self.eval_views, self.eval_gold.astype(np.float32), train=False, extras=self.eval_extras
        )
        return evaluate_objective(eval_step, trainable, frozen, batches, mesh, self.term_weights, STS_METRICS)
