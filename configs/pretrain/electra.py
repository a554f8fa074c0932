"""ELECTRA pretraining: a generator (MLM) and a discriminator (replaced-token detection) trained jointly.

The two share embeddings; the discriminator's loss is weighted 50.

python -m plmjax.main --config=configs/pretrain/electra.py:size=small --workdir=/tmp/electra

Arguments: size (tiny, small, base), generator_fraction (the generator's width over the discriminator's),
rtd_weight, corpus (text files, comma-separated), layout (blocks, lines, wikitext).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(
        arg,
        size="small",
        generator_fraction=0.25,
        rtd_weight=50.0,
        corpus=BOTH_CORPORA,
        layout="blocks",
    )
    config = pretraining_config(
        "electra",
        "electra-base-discriminator",
        size=arg.size,
        corpus=arg.corpus,
        layout=arg.layout,
        tokenizer_kind="wordpiece",
    )
    if arg.size == "tiny":
        config.model.config_overrides.num_heads = 4  # the generator's quarter width then keeps one head
    config.objective.electra.generator_fraction = arg.generator_fraction
    config.objective.electra.rtd_weight = arg.rtd_weight
    return config
