"""Data: task definitions, readers (tfds catalog, local TSV/CSV/JSONL/text), tokenisation and batching.

task = plmjax.data.get_task("glue/rte", data_dir="path/to/RTE")   # or no data_dir: the tfds catalog
features = plmjax.data.encode(tokenizer, plmjax.data.read_examples(task, "train"), task, max_length=128)
for batch in plmjax.data.BatchIterator(features, 32, seed=0): ...

Pretraining (raw text, tokenizer training, MLM/NSP/SOP/causal/BART/T5 collators): `plmjax.data.pretraining`.
"""

from plmjax.data import pretraining
from plmjax.data.batching import DEFAULT_LENGTH_BUCKETS, BatchIterator
from plmjax.data.encode import TRUNCATION_STRATEGIES, encode
from plmjax.data.errors import DataError, EmptyDatasetError, MalformedRowError
from plmjax.data.local_files import read_csv, read_jsonl, read_text_file, read_tsv
from plmjax.data.sources import read_examples
from plmjax.data.tasks import TASKS, TaskSpec, get_task
from plmjax.data.tfds_source import TfdsExamples, tfds_source

__all__ = [
    "DEFAULT_LENGTH_BUCKETS",
    "TASKS",
    "TRUNCATION_STRATEGIES",
    "BatchIterator",
    "DataError",
    "EmptyDatasetError",
    "MalformedRowError",
    "TaskSpec",
    "TfdsExamples",
    "encode",
    "get_task",
    "pretraining",
    "read_csv",
    "read_examples",
    "read_jsonl",
    "read_text_file",
    "read_tsv",
    "tfds_source",
]
