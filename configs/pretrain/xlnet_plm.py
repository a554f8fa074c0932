"""XLNet permutation-LM pretraining (Yang et al. 2019) with a byte-level BPE trained on the corpus.

Documents are packed into rows; each row draws a factorisation order and predicts its last 1/K tokens
(partial prediction, K = 6) through the query stream.

python -m plmjax.main --config=configs/pretrain/xlnet_plm.py:size=small --workdir=/tmp/xlnet_plm

Arguments: size (tiny, small, base), corpus (text files, comma-separated), layout (blocks, lines, wikitext, text).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", corpus=BOTH_CORPORA, layout="blocks")
    config = pretraining_config(
        "plm", "xlnet-base-cased", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="bpe"
    )
    config.objective.max_predictions = 0  # the targets are the query stream's, not MLM positions
    return config
