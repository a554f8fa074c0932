"""DistilBERT knowledge distillation from a BERT teacher into a student with half its layers.

The student has every other layer of the teacher and is trained on the teacher's softened MLM distribution (T
= 2), the MLM labels and the teacher's hidden states (5 : 2 : 1).

python -m plmjax.main --config=configs/pretrain/distilbert.py:size=small,teacher=/tmp/bert_hf --workdir=/tmp/distilbert

Arguments:
  teacher  an HF BERT directory (its tokenizer is used too), or a preset name (random init at the run's size:
           a smoke run; pretrain a teacher with configs/pretrain/bert_mlm.py and export it for a real one)
  size     tiny, small or base (the teacher's size when it is a preset)
  corpus   text files, comma-separated; layout: blocks, lines, wikitext
"""

import os

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", teacher="bert-base", corpus=BOTH_CORPORA, layout="blocks")
    config = pretraining_config(
        "distillation", arg.teacher, size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="wordpiece"
    )
    if os.path.isdir(arg.teacher):
        config.data.tokenizer = arg.teacher
        config.model.config_overrides = {}
    if arg.size == "tiny":
        config.model.config_overrides.num_layers = 4  # the student takes layers 0 and 2
    config.objective.distillation.teacher = arg.teacher
    return config
