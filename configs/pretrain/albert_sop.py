"""ALBERT pretraining: masked LM + sentence-order prediction, shared layers, factorised embeddings.

python -m plmjax.main --config=configs/pretrain/albert_sop.py:size=small --workdir=/tmp/albert_sop

Arguments: size (tiny, small, base), corpus (text files, comma-separated), layout (blocks, lines, wikitext).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", corpus=BOTH_CORPORA, layout="blocks")
    config = pretraining_config(
        "mlm", "albert-base-v2", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="wordpiece"
    )
    if arg.size != "base":
        # ALBERT's factorised embeddings, narrower than the hidden width (128 for 768 in albert-base).
        hidden = config.model.config_overrides.hidden_size
        config.model.config_overrides.embedding_size = hidden // 2
    config.objective.sentence_task = "sop"
    config.objective.masking = "static"
    return config
