"""A character-level GPT on tinyshakespeare with nanoGPT's CPU "baby GPT" settings.

The settings are those of nanoGPT's config/train_shakespeare_char.py with its README's CPU changes: 4 layers,
4 heads, 128 wide, context 64, batch 12, 2000 iterations, no dropout, AdamW at 1e-3 (100 warmup steps, cosine
decay to 1e-4, beta2 0.99, weight decay 0.1 on matrices and embeddings), gradient clipping at 1.0, GPT-2
blocks with biases and tied embeddings; the first 90% of the text trains, the last 10% is held out; every step
takes random windows of the training text; every 250 steps the loss is estimated on 20 batches of each split.

python -m plmjax.main --config=configs/pretrain/shakespeare_char.py --workdir=/tmp/shakespeare_char

Arguments: corpus (the text file; default ../shared/data/tinyshakespeare/input.txt), size (baby or tiny).
"""

from plmjax.data.pretraining.default_corpora import TINYSHAKESPEARE
from plmjax.train.config import parse_config_arg, pretraining_config

SIZES = {
    # (layers, heads, width, context, batch, steps, warmup steps)
    "baby": (4, 4, 128, 64, 12, 2000, 100),
    "tiny": (2, 2, 32, 32, 16, 40, 4),
}


def get_config(arg=None):
    arg = parse_config_arg(arg, size="baby", corpus=TINYSHAKESPEARE)
    layers, heads, width, context, batch, steps, warmup = SIZES[arg.size]
    config = pretraining_config("clm", "gpt2", size="tiny", corpus=arg.corpus, layout="text", tokenizer_kind="char")
    config.model.config_overrides = dict(
        num_layers=layers,
        num_heads=heads,
        hidden_size=width,
        intermediate_size=4 * width,
        max_position_embeddings=context,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        embedding_dropout=0.0,
    )
    config.data.sampling = "random_windows"
    config.data.validation_fraction = 0.1
    config.data.max_length = context
    config.data.batch_size = batch
    config.data.eval_batch_size = batch
    config.data.eval_batches = 20
    config.data.eval_train_batches = 20
    config.optimizer.learning_rate = 1e-3
    config.optimizer.warmup_steps = warmup
    config.optimizer.decay = "cosine"
    config.optimizer.end_learning_rate_fraction = 0.1
    config.optimizer.b1 = 0.9
    config.optimizer.b2 = 0.99
    config.optimizer.weight_decay = 0.1
    config.optimizer.grad_clip_norm = 1.0
    # One device (XLA spreads each matmul over the cores) with freed host memory kept for reuse
    # (mesh.cpu_keep_freed_memory): 81 to 88 s for the whole run on a 2-core CPU, against 101 s as two
    # data-parallel devices (mesh.cpu_devices=2, where freed memory is not kept; docs/pretraining.md).
    # Its temporaries (44 MiB) fit in a thread's own malloc arena; one shared arena made the step 15% slower.
    config.mesh.cpu_single_malloc_arena = False
    config.train.num_steps = steps
    config.train.log_every = 10 if arg.size == "baby" else 1
    config.train.eval_every = 250 if arg.size == "baby" else steps
    config.train.checkpoint_every = steps
    config.train.async_checkpoints = True
    return config
