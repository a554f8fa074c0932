"""What the configs in configs/pretrain/ share: model sizes, the default corpora under ../shared/data, and
`pretraining_config`, which fills a default_config() for one objective."""

import os

from plmjax.train.config import default_config

# configs/pretrain/*.py read their corpora from ../shared/data, beside the repository.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
WIKITEXT2_VALID = os.path.join(SHARED_DATA, "wikitext2", "valid.txt")
TINYSHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare", "input.txt")
# The pretraining configs' default corpus argument: both files, comma-separated.
BOTH_CORPORA = f"{WIKITEXT2_VALID},{TINYSHAKESPEARE}"

# size -> (TransformerConfig fields, max_length, batch size, steps, tokenizer vocabulary, peak learning rate).
# tiny: seconds on a CPU, for tests; small: a 4-layer, 256-wide model (issue 6's real-corpus BERT).
SIZES = {
    "tiny": (dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), 32, 16, 40, 400, 3e-3),
    "small": (dict(hidden_size=256, num_layers=4, num_heads=4, intermediate_size=1024), 64, 32, 1000, 8000, 1e-3),
    "base": ({}, 128, 256, 100_000, 30522, 1e-4),
}


def pretraining_config(objective: str, preset: str, *, size: str, corpus: str, layout: str, tokenizer_kind: str):
    """A config for `objective` on `corpus` (comma-separated files) with the `size` version of `preset`."""
    if size not in SIZES:
        raise ValueError(f"size={size!r}; sizes: {sorted(SIZES)}")
    fields, max_length, batch_size, steps, vocab_size, learning_rate = SIZES[size]
    config = default_config()
    config.objective.name = objective
    config.model.name_or_path = preset
    config.model.config_overrides = dict(fields, max_position_embeddings=max(max_length, 64) if fields else 512)
    config.data.corpus_files = corpus
    config.data.corpus_layout = layout
    config.data.tokenizer_kind = tokenizer_kind
    config.data.tokenizer_vocab_size = vocab_size
    config.data.max_length = max_length
    config.data.batch_size = batch_size
    config.data.eval_batch_size = batch_size
    config.optimizer.learning_rate = learning_rate
    config.optimizer.warmup_steps = max(1, steps // 20)
    config.optimizer.weight_decay = 0.01
    if size != "tiny":
        # Vocabulary logits only where MLM predicts (15% of the tokens, BERT's max_predictions_per_seq); the
        # collator selects round(0.15 n) <= this many of a row's n tokens.
        config.objective.max_predictions = int(0.15 * max_length) + 1
    config.train.num_steps = steps
    config.train.log_every = 1 if size == "tiny" else 50
    config.train.eval_every = steps if size == "tiny" else max(steps // 10, 1)
    config.train.checkpoint_every = steps if size == "tiny" else 1000
    config.train.keep_checkpoints = 1
    return config
