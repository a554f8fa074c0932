"""LM-BFF's few-shot protocol (Gao et al. 2021): one task, one method, one seed's K-shot split.

python -m plmjax.train.few_shot --config=configs/lmbff.py:task=mr,method=prompt --workdir=/tmp/lmbff/mr-prompt
python -m plmjax.main --config=configs/lmbff.py:task=mr,method=prompt,seed=42 --workdir=/tmp/mr-42     # one seed
python -m plmjax.main --config=configs/lmbff.py:task=mr,method=prompt --workdir=/tmp/mr-0 --evaluate=initial

The few-shot runner (plmjax.train.few_shot) runs it for the five seeds 13, 21, 42, 87, 100: it trains on the
split's train file, keeps the checkpoint best on its dev file, scores it on the task's test file, and reports
the test mean (std). With --zero-shot it scores the starting parameters (no training); the third command does
that for one seed (zero-shot prompting; --evaluate=best scores a trained run's best checkpoint instead).

Arguments (after the colon, comma-separated):
  task    mr, cr, mpqa, subj, sst-5, trec, rte or snli (plmjax.data.TASKS "lmbff/<task>"; snli's test file:
          python benchmarks/lmbff_snli.py, then data=/tmp/plmjax_lmbff_snli); mnli, qnli and qqp have no test
          file here: they train (transfer sources, task mixtures) but the few-shot runner cannot score them
  method  finetune (a classifier head on [CLS], LM-BFF's "fine-tuning"), prompt (LM-BFF's manual template and
          label words, plmjax.prompting.presets), prompt_demos (prompt + demonstrations: one per class, drawn
          from the most similar half by all-MiniLM-L6-v2 embeddings), auto_words (prompt with LM-BFF's automatic
          label words, searched on train and re-ranked on dev: plmjax.prompting.auto_label_words),
          prompt_tuning (prompt, training only 20 soft tokens in front of the input), lora (prompt, training
          only LoRA on query and value)
  model   an HF masked-LM directory (default: all-MiniLM-L6-v2 with the MLM head plmjax trains for it,
          docs/masked_lm_head.md: $PLMJAX_MLM, or /tmp/minilm_mlm_head_top2/hf_mlm)
  data    LM-BFF's k-shot folder (default <data root>/lmbff_kshot); k (16), seed (13)
  steps   training steps (default 250), evaluated on dev every 25

LM-BFF's recipe otherwise: batch 8, AdamW, linear decay, no warmup, sequences up to 128 tokens (256 with
demonstrations), dev accuracy selects the checkpoint; with demonstrations, dev and test scores are averaged over
16 drawn sets (4 for snli, mnli and qqp), as LM-BFF's --num_sample. Its learning rate (1e-5 for RoBERTa-large,
grid 1e-5 to 5e-5) is raised to 5e-5 for the 22M-parameter MiniLM (the top of LM-BFF's grid); the PEFT methods
use the rates of their recipes (plmjax.peft.METHODS).
"""

import os

from plmjax.data.pretraining.default_corpora import DATA_ROOT
from plmjax.peft import METHODS
from plmjax.train.config import default_config, parse_config_arg

TASK_DIRS = {"rte": "RTE", "snli": "SNLI", "mnli": "MNLI", "qnli": "QNLI", "qqp": "QQP"}  # the GLUE ones upper case
METHODS_HERE = ("finetune", "prompt", "prompt_demos", "auto_words", "prompt_tuning", "lora")
PEFT = {"prompt_tuning": "prompt", "lora": "lora"}
# Evaluation with demonstrations averages each example's class scores over this many drawn sets: LM-BFF's
# --num_sample, 16, and 4 for its tasks with large test sets "to save time" (its run_experiment.sh).
DEMONSTRATION_SETS = {"snli": 4, "mnli": 4, "qqp": 4}


def default_model() -> str:
    return os.environ.get("PLMJAX_MLM") or "/tmp/minilm_mlm_head_top2/hf_mlm"


def get_config(arg=None):
    arg = parse_config_arg(
        arg, task="mr", method="prompt", model="", data="", k=16, seed=13, steps=250, learning_rate=5e-5
    )
    if arg.method not in METHODS_HERE:
        raise ValueError(f"method={arg.method!r}; methods: {METHODS_HERE}")
    config = default_config()
    config.seed = arg.seed
    config.model.name_or_path = arg.model or default_model()
    config.data.task = f"lmbff/{arg.task}"
    data = arg.data or os.path.join(DATA_ROOT, "lmbff_kshot")
    config.data.data_dir = os.path.join(data, TASK_DIRS.get(arg.task, arg.task), f"{arg.k}-{arg.seed}")
    config.data.source = "local"
    config.data.max_length = 128
    config.data.length_buckets = (32, 64, 128)
    config.data.batch_size = 8
    config.data.eval_batch_size = 64
    if arg.method == "finetune":
        config.objective.name = "classification"
        config.model.head = "classification"
    else:
        config.objective.name = "prompt"
    if arg.method == "auto_words":
        config.objective.prompt.label_words = "auto"
    if arg.method == "prompt_demos":
        config.objective.prompt.demonstrations = "similar"
        config.objective.prompt.demonstration_sets = DEMONSTRATION_SETS.get(arg.task, 16)
        config.data.max_length = 256
        config.data.length_buckets = (128, 192, 256)  # each batch padded to its longest prompt's bucket
    learning_rate = arg.learning_rate
    if arg.method in PEFT:
        config.peft.method = PEFT[arg.method]
        learning_rate, options = METHODS[PEFT[arg.method]].recipe
        config.peft.options = options
    config.optimizer.learning_rate = learning_rate
    config.optimizer.warmup_steps = 0
    config.optimizer.weight_decay = 0.0
    config.train.num_steps = arg.steps
    config.train.eval_every = max(arg.steps // 10, 1)
    config.train.log_every = max(arg.steps // 10, 1)
    config.train.checkpoint_every = arg.steps
    config.train.keep_checkpoints = 1
    return config
