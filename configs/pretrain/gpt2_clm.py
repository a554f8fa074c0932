"""GPT-2 causal-LM pretraining with a byte-level BPE trained on the corpus.

Documents are packed into rows with <|endoftext|> between them.

python -m plmjax.main --config=configs/pretrain/gpt2_clm.py:size=small --workdir=/tmp/gpt2_clm

Arguments: size (tiny, small, base), corpus (text files, comma-separated), layout (blocks, lines, wikitext, text).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", corpus=BOTH_CORPORA, layout="blocks")
    return pretraining_config(
        "clm", "gpt2", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="gpt2_bpe"
    )
