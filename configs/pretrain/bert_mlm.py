"""BERT-style masked-LM pretraining from scratch, with a WordPiece tokenizer trained on the corpus.

python -m plmjax.main --config=configs/pretrain/bert_mlm.py:size=small,masking=dynamic,nsp=false --workdir=/tmp/bert_mlm

Arguments (after the colon, comma-separated):
  size     tiny (tests, seconds), small (4 layers, 256 wide) or base (BERT-base)
  masking  static (BERT: one mask per example), dynamic (RoBERTa: a new mask every epoch), whole_word
           (BERT-wwm: dynamic, all pieces of a word together), span (SpanBERT: dynamic, spans of whole words) or
           ernie (ERNIE 1.0: dynamic, whole phrases and entities learnt from the corpus, other words whole)
  nsp      true: BERT's MLM + next-sentence prediction on segment pairs; false: MLM on packed sentences
           (RoBERTa = masking=dynamic,nsp=false)
  corpus   text files, comma-separated (default: WikiText-2's valid.txt and tinyshakespeare)
  layout   how the files split into documents: blocks, lines, wikitext (see data.corpus_layout)
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config

MASKING = {
    "static": ("static", "token"),
    "dynamic": ("dynamic", "token"),
    "whole_word": ("dynamic", "word"),
    "span": ("dynamic", "span"),
    "ernie": ("dynamic", "knowledge"),
}


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", masking="dynamic", nsp=False, corpus=BOTH_CORPORA, layout="blocks")
    if arg.masking not in MASKING:
        raise ValueError(f"masking={arg.masking!r}; choose one of {sorted(MASKING)}")
    config = pretraining_config(
        "mlm", "bert-base", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="wordpiece"
    )
    config.objective.masking, config.objective.mask_unit = MASKING[arg.masking]
    config.objective.sentence_task = "nsp" if arg.nsp else ""
    return config
