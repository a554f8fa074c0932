"""A task's examples as prompts for the trainer: the features and batches of the prompt objective.

Without demonstrations every example is encoded once (`encode_prompts`) and batched like classification data,
its mask position carried in the batch. With LM-BFF's demonstrations the prompt changes at every training step,
so `DemonstrationBatches` encodes each batch when it is drawn: the same epoch plan (shuffling, process shards,
resumable position) as any batch iterator, each row's demonstrations drawn for (seed, step, row's example).
In evaluation it draws `sets` demonstration sets per example ([rows, sets, length] batches), whose class logits
the prompt objective averages (LM-BFF's ensemble).
"""

import numpy as np

from plmjax.data.batching import BatchIterator
from plmjax.prompting.demonstrations import DemonstrationPool
from plmjax.prompting.template import PromptError, Template


def as_prompt_example(example: dict, text_fields: tuple[str, ...]) -> dict:
    """The example with its texts also under the names templates use: text_a, text_b (a task's own field names
    stay too, so a template may read either)."""
    named = dict(example)
    for name, field in zip(("text_a", "text_b"), text_fields, strict=False):
        named[name] = example[field]
    return named


def encode_prompts(examples: list[dict], template: Template, tokenizer, max_length: int, vocab_size: int) -> dict:
    """Features for BatchIterator: input_ids and token_type_ids (one array per example), mask_positions and
    labels [N], pad_token_id. A field an example lacks, or a template that cannot fit, names the example."""
    input_ids, token_type_ids, mask_positions = [], [], []
    for index, example in enumerate(examples):
        try:
            prompt = template.encode(example, tokenizer, max_length, vocab_size=vocab_size)
        except PromptError as error:
            raise PromptError(f"example {index}: {error}") from None
        input_ids.append(prompt.input_ids)
        token_type_ids.append(prompt.token_type_ids)
        mask_positions.append(prompt.mask_position)
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "mask_positions": np.asarray(mask_positions, np.int32),
        "labels": np.asarray([example["label"] for example in examples], np.int32),
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
    }


class DemonstrationBatches(BatchIterator):
    """Batches of prompts with LM-BFF's demonstrations, encoded as they are drawn, each batch padded to the
    smallest of `length_buckets` (and max_length) its longest prompt fits: its global batch's, so every process
    pads to the same length (the other processes' rows are encoded too, only to be measured).

    queries: the examples to batch; pool: where demonstrations come from (for training, the queries themselves:
    query k is pool example k, never its own demonstration); demo_word_ids: the label word shown for each class.
    sets: demonstration sets per example (1: [rows, length] batches; more: [rows, sets, length]), each set drawn
    at "step" = its index, so evaluation sees the same demonstrations every time. query_embeddings: those of
    queries outside the pool, for "similar" selection.
    """

    def __init__(
        self,
        queries: list[dict],
        pool: DemonstrationPool,
        template: Template,
        tokenizer,
        demo_word_ids,
        max_length: int,
        vocab_size: int,
        batch_size: int,
        *,
        seed: int,
        train: bool,
        sets: int = 1,
        in_pool: bool = True,
        query_embeddings=None,
        process_index: int = 0,
        process_count: int = 1,
        length_buckets: tuple = (),
    ):
        if sets < 1 or (train and sets != 1):
            raise PromptError(f"demonstration sets={sets}: training draws one set per step, evaluation one or more")
        labels = np.asarray([q["label"] for q in queries], np.int32)
        # The plan only needs each query's length, not known before its demonstrations are drawn: all are cut
        # into batches as if of max_length, and each batch is padded to its bucket when it is drawn.
        placeholder = [np.zeros(1, np.int32)] * len(queries)
        features = {"input_ids": placeholder, "token_type_ids": placeholder, "labels": labels}
        super().__init__(
            features,
            batch_size,
            seed=seed,
            shuffle=train,
            drop_remainder=train,
            length_buckets=(max_length,),
            process_index=process_index,
            process_count=process_count,
        )
        self.queries, self.pool, self.template, self.tokenizer = queries, pool, template, tokenizer
        self.demo_word_ids = [int(i) for i in demo_word_ids]
        self.max_length, self.vocab_size, self.sets, self.train = max_length, vocab_size, sets, train
        self.in_pool, self.query_embeddings = in_pool, query_embeddings
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.padded_lengths = sorted({b for b in length_buckets if b < max_length} | {max_length})

    def _prompt(self, index: int, draw: int):
        embedding = None if self.query_embeddings is None else self.query_embeddings[index]
        if self.in_pool:
            chosen = self.pool.sample(index, draw)
        else:
            chosen = self.pool.sample(None, draw, query_embedding=embedding, outside_index=index)
        demonstrations = [(self.pool.examples[i], self.demo_word_ids[c]) for c, i in enumerate(chosen)]
        try:
            return self.template.encode(self.queries[index], self.tokenizer, self.max_length, self.vocab_size,
                                        demonstrations=demonstrations)  # fmt: skip
        except PromptError as error:
            raise PromptError(f"example {index} with its demonstrations: {error}") from None

    def _materialise(self, global_indices: np.ndarray, length: int) -> dict:
        mine = self.local_indices(global_indices)
        rows = len(mine)
        # The batch being drawn: training draws new demonstrations at every step, evaluation set s at "step" s.
        step = self._epoch * self.steps_per_epoch + self._position - 1
        draws = [step] if self.train else list(range(self.sets))
        prompts = {(int(i), d): self._prompt(int(i), d) for i in global_indices if i >= 0 for d in draws}
        longest = max((len(p.input_ids) for p in prompts.values()), default=1)
        length = next(b for b in self.padded_lengths if b >= longest)
        shape = (rows, len(draws), length)
        batch = {
            "input_ids": np.full(shape, self.pad_id, np.int32),
            "attention_mask": np.zeros(shape, np.int32),
            "token_type_ids": np.zeros(shape, np.int32),
            "mask_positions": np.zeros(shape[:2], np.int32),
            "labels": np.zeros(rows, np.int32),
            "weights": np.zeros(rows, np.float32),
        }
        for row, index in enumerate(mine):
            if index < 0:
                continue  # a padding row: weight 0
            for column, draw in enumerate(draws):
                prompt = prompts[int(index), draw]
                n = len(prompt.input_ids)
                batch["input_ids"][row, column, :n] = prompt.input_ids
                batch["attention_mask"][row, column, :n] = 1
                batch["token_type_ids"][row, column, :n] = prompt.token_type_ids
                batch["mask_positions"][row, column] = prompt.mask_position
            batch["labels"][row] = self.queries[index]["label"]
            batch["weights"][row] = 1.0
        if self.sets == 1:
            for key in ("input_ids", "attention_mask", "token_type_ids", "mask_positions"):
                batch[key] = batch[key][:, 0]
        return batch


class WithUnlabeledMlm:
    """PET's auxiliary language modelling: each training batch of `batches` gains a batch of unlabeled prompts,
    masked for MLM, under keys prefixed "unlabeled_" (input_ids, attention_mask, token_type_ids, mlm_labels,
    mlm_weights, weights).

    Step s draws its global batch of unlabeled examples with default_rng([seed, s]) and masks them with
    default_rng([seed, s, 1]), so the position is just the step count: resuming replays the same batches.
    unlabeled: encode_prompts features of the unlabeled examples; collator: a plmjax MlmCollator (its masker
    never selects special tokens, the prompt's own mask among them).
    """

    def __init__(self, batches, unlabeled: dict, collator, batch_size: int, seed: int, process_index: int = 0,
                 process_count: int = 1):  # fmt: skip
        self.batches, self.unlabeled, self.types = batches, unlabeled["input_ids"], unlabeled["token_type_ids"]
        self.collator = collator
        self.batch_size, self.seed, self.step = batch_size, seed, 0
        self.rows = slice(
            process_index * batch_size // process_count, (process_index + 1) * batch_size // process_count
        )
        if len(self.unlabeled) < batch_size:
            raise PromptError(f"{len(self.unlabeled)} unlabeled examples make no batch of {batch_size}")

    def __iter__(self):
        return self

    def __getattr__(self, name):  # steps_per_epoch, epoch, ... of the labeled batches
        return getattr(self.batches, name)

    def __next__(self) -> dict:
        batch = next(self.batches)
        chosen = np.random.default_rng([self.seed, self.step]).choice(len(self.unlabeled), self.batch_size, False)
        examples = [{"input_ids": self.unlabeled[i], "token_type_ids": self.types[i]} for i in chosen[self.rows]]
        masked = self.collator(examples, np.random.default_rng([self.seed, self.step, 1]))
        self.step += 1
        for key in ("input_ids", "attention_mask", "token_type_ids", "mlm_labels", "mlm_weights", "weights"):
            batch[f"unlabeled_{key}"] = masked[key]
        return batch

    def get_state(self) -> dict:
        return {"labeled": self.batches.get_state(), "unlabeled_step": self.step}

    def set_state(self, state: dict) -> None:
        self.batches.set_state(state["labeled"])
        self.step = int(state["unlabeled_step"])
