"""BART denoising pretraining (text infilling, sentence permutation), byte-level BPE trained on the corpus.

By default: text infilling (Poisson(3) spans, one mask each) and sentence permutation; token masking, token
deletion and document rotation by argument.

python -m plmjax.main --config=configs/pretrain/bart_denoise.py:size=small --workdir=/tmp/bart_denoise

Arguments: size (tiny, small, base), infill_ratio, token_mask_ratio, token_delete_ratio, permute_sentences,
rotate_document, corpus (text files, comma-separated), layout (blocks, lines, wikitext).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(
        arg,
        size="small",
        infill_ratio=0.3,
        token_mask_ratio=0.0,
        token_delete_ratio=0.0,
        permute_sentences=True,
        rotate_document=False,
        corpus=BOTH_CORPORA,
        layout="blocks",
    )
    config = pretraining_config(
        "bart", "bart-base", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="bpe"
    )
    for name in ("infill_ratio", "token_mask_ratio", "token_delete_ratio", "permute_sentences", "rotate_document"):
        config.objective.bart[name] = arg[name]
    return config
