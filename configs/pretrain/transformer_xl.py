"""Transformer-XL language modelling on WikiText-2 with a segment memory (Dai et al. 2019), or the same model
without one, for the comparison in docs/older_architectures.md.

python -m plmjax.main --config=configs/pretrain/transformer_xl.py:memory=64 --workdir=/tmp/txl_mem64
python -m plmjax.main --config=configs/pretrain/transformer_xl.py:memory=0 --workdir=/tmp/txl_mem0

The corpus here has WikiText-2's validation file only (../shared/data/wikitext2/valid.txt): its first 90% of
articles train and the last 10% are held out. A byte-level BPE of 8000 pieces is trained on it. The text is
cut into batch-size parallel streams; every step takes the next segment of each (data.sampling=segments),
and the memory of the previous segments rides in the train state. Evaluation walks the held-out streams
segment by segment with eval_memory slots of memory (0: as in training).

Arguments: memory (memory slots per layer in training; 0: none), eval_memory, size (tiny, small), corpus,
words (WikiText's own words, every type in the vocabulary sorted by frequency, instead of the BPE), adaptive
(the adaptive softmax over that vocabulary, the paper's output layer: it needs words=true).
"""

from plmjax.data.pretraining.default_corpora import WIKITEXT2_VALID
from plmjax.models.presets import TRANSFORMER_XL_ARCHITECTURE
from plmjax.train.config import cosine_schedule, parse_config_arg, pretraining_config

SIZES = {
    # (layers, heads, width, inner, segment, batch, steps, learning rate)
    "small": (4, 4, 128, 512, 64, 16, 2000, 1e-3),
    "tiny": (2, 2, 32, 64, 16, 8, 30, 3e-3),
}
# The adaptive softmax's cutoffs over the frequency-sorted words, per size.
CUTOFFS = {"small": (2000, 6000), "tiny": (10, 20)}


def get_config(arg=None):
    arg = parse_config_arg(
        arg, memory=64, eval_memory=0, size="small", corpus=WIKITEXT2_VALID, words=False, adaptive=False
    )
    if arg.adaptive and not arg.words:
        raise ValueError("the adaptive softmax needs a vocabulary sorted by frequency: add words=true")
    layers, heads, width, inner, segment, batch, steps, learning_rate = SIZES[arg.size]
    config = pretraining_config("clm", "gpt2", size="tiny", corpus=arg.corpus, layout="wikitext", tokenizer_kind="bpe")
    config.model.name_or_path = "transfo-xl-base"
    config.model.config_overrides = dict(
        TRANSFORMER_XL_ARCHITECTURE,
        num_layers=layers,
        num_heads=heads,
        hidden_size=width,
        attention_head_dim=None,
        intermediate_size=inner,
        hidden_dropout=0.1,
        activation_dropout=0.1,
        attention_dropout=0.0,
        memory_length=arg.memory,
        clamp_length=None,
        tie_word_embeddings=not arg.adaptive,
        adaptive_softmax_cutoffs=CUTOFFS[arg.size] if arg.adaptive else (),
    )
    if arg.words:
        config.data.tokenizer_kind = "word"
    config.objective.eval_memory_length = arg.eval_memory
    config.data.sampling = "segments"
    config.data.tokenizer_vocab_size = 8000 if arg.size == "small" else 400
    config.data.validation_fraction = 0.1
    config.data.max_length = segment
    config.optimizer.grad_clip_norm = 0.25  # the paper's clip
    log_every = 1 if arg.size == "tiny" else 50
    cosine_schedule(
        config, steps=steps, batch_size=batch, learning_rate=learning_rate, evaluations=5, log_every=log_every
    )
    return config
