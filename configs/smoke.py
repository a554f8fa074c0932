"""Smoke run: a 2-layer, 32-wide BERT from random init on the synthetic task; seconds on one CPU.

python -m plmjax.main --config=configs/smoke.py --workdir=/tmp/plmjax_smoke

The tests use it for resumption, multi-device and multi-process runs (see tests/train and tests/test_main.py).
"""

from plmjax.train.config import default_config


def get_config(arg=None):
    del arg
    config = default_config()
    config.model.name_or_path = "bert-base"
    config.model.config_overrides = dict(
        vocab_size=128, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_position_embeddings=64
    )
    config.data.task = "synthetic"
    config.data.max_length = 16
    config.data.batch_size = 16
    config.data.eval_batch_size = 32
    config.data.max_train_examples = 256
    config.data.max_eval_examples = 64
    config.optimizer.learning_rate = 1e-3
    config.optimizer.warmup_steps = 2
    config.train.num_steps = 20
    config.train.log_every = 5
    config.train.eval_every = 10
    config.train.checkpoint_every = 5
    return config
