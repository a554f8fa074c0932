"""A fine-tuning run's data, from its config: the task's labels and metrics, its encoded splits, and resumable
batch iterators.

Real tasks come from plmjax.data (GLUE, SuperGLUE, stdlib_docs, local files); "synthetic" is random tokens
with a learnable label (plmjax.data.synthetic), for smoke runs and tests.
"""

import dataclasses

import jax

from plmjax import data
from plmjax.data.extra_examples import read_extra_examples, soft_label_array
from plmjax.data.synthetic import SyntheticTask, synthetic_features
from plmjax.hf import load_tokenizer

SYNTHETIC_SIZES = {"train": 1024, "validation": 256}


@dataclasses.dataclass
class RunData:
    task: object  # a plmjax.data TaskSpec, or SyntheticTask
    train_features: dict
    eval_features: dict | None
    num_train: int
    num_eval: int
    # Another labelled split's features, encoded when asked for (LM-BFF's "test", after training).
    split_features: object = None
    # Features of any examples with the task's text fields (labels optional): what a trained run scores.
    encode_examples: object = None


def get_task(data_config):
    if data_config.task == "synthetic":
        return SyntheticTask()
    return data.get_task(data_config.task, data_dir=data_config.data_dir, source=data_config.source)


def load(config, task, model, tokenizer_path: str | None) -> RunData:
    """Encode the task's train and validation splits for `model` (tokenizer: data.tokenizer or the model's)."""
    data_config = config.data
    limits = {"train": data_config.max_train_examples, "validation": data_config.max_eval_examples}
    features = {}
    if data_config.task == "synthetic":
        for index, split in enumerate(("train", "validation")):
            size = limits[split] or SYNTHETIC_SIZES[split]
            features[split] = synthetic_features(
                size, data_config.max_length, model.config.vocab_size, model.num_labels, seed=config.seed + index
            )
    else:
        tokenizer = load_tokenizer(tokenizer_path_for(data_config, task, tokenizer_path))
        for split in ("train", "validation"):
            if split not in task.splits:
                continue
            if split == "train":
                examples = training_examples(data_config, task)
            else:
                examples = read_split(task, split, limits[split])
            features[split] = data.encode(tokenizer, examples, task, data_config.max_length)
            soft_labels = soft_label_array(examples, task.num_labels)
            if soft_labels is not None:
                features[split]["soft_labels"] = soft_labels
    num_train = len(features["train"]["labels"])
    check_batch_size(task, num_train, data_config.batch_size)
    eval_features = features.get("validation")
    num_eval = len(eval_features["labels"]) if eval_features else 0

    def encode_examples(examples: list[dict]) -> dict:
        if data_config.task == "synthetic":
            raise data.DataError("the synthetic task has no text to encode")
        labelled = [{"label": 0, **example} for example in examples]  # the label is not read
        return data.encode(tokenizer, labelled, task, data_config.max_length)

    def split_features(split: str) -> dict:
        if data_config.task == "synthetic":
            raise data.DataError(f"the synthetic task has train and validation splits, not {split!r}")
        return encode_examples(read_split(task, split))

    return RunData(task, features["train"], eval_features, num_train, num_eval, split_features, encode_examples)


def training_examples(data_config, task) -> list[dict]:
    """The task's train split (the first data.max_train_examples; none when data.task_train is False) and the
    examples of data.extra_train_files (plmjax.data.extra_examples)."""
    examples = read_split(task, "train", data_config.max_train_examples) if data_config.task_train else []
    for path in filter(None, data_config.extra_train_files.split(",")):
        examples += read_extra_examples(path.strip(), task)
    if not examples:
        raise data.EmptyDatasetError(f"task {task.name!r}: no training examples (data.task_train is off and no files)")
    return examples


def tokenizer_path_for(data_config, task, model_path: str | None) -> str:
    """data.tokenizer, else the model's directory (None for a preset: then data.tokenizer is required)."""
    path = data_config.tokenizer or model_path
    if path is None:
        raise data.DataError(f"task {task.name} needs a tokenizer: set data.tokenizer (the model is a preset)")
    return path


def read_split(task, split: str, limit: int = 0) -> list[dict]:
    """The split's examples (the first `limit`; 0: all); EmptyDatasetError when there are none."""
    examples = data.read_examples(task, split)
    examples = examples[:limit] if limit else examples
    if not examples:
        raise data.EmptyDatasetError(f"task {task.name!r} has no {split} examples")
    return examples


def check_batch_size(task, num_train: int, batch_size: int) -> None:
    if num_train < batch_size:
        raise data.EmptyDatasetError(
            f"task {task.name!r} has {num_train} training examples, fewer than one batch of {batch_size}"
        )


def batch_iterator(features: dict, batch_size: int, *, seed: int, train: bool, length_buckets=()):
    """This process's share of each global batch: shuffled endless epochs for training, one padded pass
    (weight-0 rows) for evaluation. No buckets: every batch is padded to the split's longest example."""
    return data.BatchIterator(
        features,
        batch_size,
        seed=seed,
        shuffle=train,
        drop_remainder=train,
        length_buckets=tuple(length_buckets),
        process_index=jax.process_index(),
        process_count=jax.process_count(),
    )
