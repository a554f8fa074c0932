"""T5 span-corruption pretraining with a byte-level BPE (100 sentinels) trained on the corpus.

15% noise in spans of mean length 3, each replaced by a sentinel.

python -m plmjax.main --config=configs/pretrain/t5_span.py:size=small --workdir=/tmp/t5_span

Arguments: size (tiny, small, base), noise_density, mean_noise_span_length, corpus (text files,
comma-separated), layout (blocks, lines, wikitext). data.max_length is the encoder's input length.
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(
        arg,
        size="small",
        noise_density=0.15,
        mean_noise_span_length=3.0,
        corpus=BOTH_CORPORA,
        layout="blocks",
    )
    config = pretraining_config(
        "t5", "t5-v1_1-small", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="bpe"
    )
    if arg.size != "base":
        config.model.config_overrides.attention_head_dim = config.model.config_overrides.hidden_size // 2
    config.data.tokenizer_extra_ids = 100
    config.objective.t5.noise_density = arg.noise_density
    config.objective.t5.mean_noise_span_length = arg.mean_noise_span_length
    return config
