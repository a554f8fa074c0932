"""Early exit (plmjax.early_exit): fine-tune an encoder with a classifier after every layer, then exit early.

python -m plmjax.main --config=configs/early_exit.py:task=glue/rte,scheme=joint --workdir=/tmp/ee_rte_joint
python -m plmjax.main --config=configs/early_exit.py:task=lmbff/sst-5,scheme=alternating --workdir=/tmp/ee_sst5
# DeeBERT's two stages: ordinary fine-tuning, exported, then the internal heads on the frozen model
python -m plmjax.main --config=configs/early_exit.py:task=glue/rte,stage=1 --workdir=/tmp/ee_rte_s1
python -m plmjax.train.export_run --config=configs/early_exit.py:task=glue/rte,stage=1 --workdir=/tmp/ee_rte_s1 \
    --out=/tmp/ee_rte_s1/hf
python -m plmjax.main --config=configs/early_exit.py:task=glue/rte,stage=2,model=/tmp/ee_rte_s1/hf \
    --workdir=/tmp/ee_rte_s2
# every criterion and threshold on the trained run, accuracy vs exit layer and vs wall-clock
python -m plmjax.train.early_exit_evaluate --config=configs/early_exit.py:task=glue/rte,scheme=joint \
    --workdir=/tmp/ee_rte_joint

Arguments (after the colon, comma-separated):
  model      an HF encoder or GPT-2 directory, "all-MiniLM-L6-v2" or "all-mpnet-base-v2" (the bundled weights),
             or a preset
  task       glue/rte, glue/cola, glue/stsb (regression), or an LM-BFF single-sentence k-shot task lmbff/<name>
             (its k=16, seed-13 split; test: the task's full test file): lmbff/sst-5, lmbff/trec, lmbff/mr, ...
  data_dir   the task's files (default: the shared data's folder of the task)
  scheme     joint (PABEE's weighted sum), alternating (BERxiT's); two-stage DeeBERT is stage=1 then stage=2
  stage      0 (one run of `scheme`), 1 (DeeBERT's first stage: ordinary fine-tuning, objective classification)
             or 2 (its second: the internal heads on the exported stage-1 model, everything else frozen)
  method     which backbone parameters train (plmjax.peft.METHODS: full, lora, ...; its recipe's learning rate);
             the exit heads always train
  criterion, threshold   what the evaluation reports: entropy S, patience t or confidence tau
  reads      what the internal exits read of their layer: classifier (the family's head on what it reads:
             [CLS], a decoder's last token) or mean (the family's head on the mean of the real tokens)
  steps      training steps (0: epochs)
  recipe     kshot or glue (below; default: kshot for the lmbff/ tasks, glue for the others). The whole TREC
             training set: benchmarks/build_trec_full.py, then
             task=lmbff/trec,data_dir=/tmp/plmjax_trec_full/full,recipe=glue

BERT's GLUE recipe as configs/glue.py has it (AdamW, 10% warmup, batch 32, 3 epochs, peak 5e-5; the k-shot
tasks: batch 8, 1000 steps as LM-BFF's fine-tuning); the second stage trains new heads only, at 1e-3.
"""

import os

from plmjax.data.pretraining.default_corpora import DATA_ROOT
from plmjax.hf.bundled import resolve_model
from plmjax.peft import METHODS
from plmjax.train.config import default_config, parse_config_arg

# The shared data's folder of each GLUE task (configs/glue.py reads the same layout).
GLUE_DIRS = {"glue/rte": "rte", "glue/cola": "cola", "glue/stsb": "stsb"}
KSHOT = os.path.join(DATA_ROOT, "lmbff_kshot")  # the single-sentence tasks' folders are named as the tasks


def task_dir(task: str) -> str:
    if task in GLUE_DIRS:
        return os.path.join(DATA_ROOT, GLUE_DIRS[task])
    if task.startswith("lmbff/"):
        name = task.split("/", 1)[1]
        return os.path.join(KSHOT, name, "16-13")
    raise ValueError(f"task={task!r}: give data_dir, or one of {sorted(GLUE_DIRS)} or lmbff/<task>")


def get_config(arg=None):
    arg = parse_config_arg(
        arg, model="all-MiniLM-L6-v2", task="glue/rte", data_dir="", scheme="joint", stage=0, method="full",
        criterion="entropy", threshold=0.3, steps=0, recipe="", reads="classifier",
    )  # fmt: skip
    if arg.stage not in (0, 1, 2):
        raise ValueError(f"stage={arg.stage}; choose 0 (one run), 1 or 2 (DeeBERT's two stages)")
    config = default_config()
    config.model.name_or_path = resolve_model(arg.model)
    config.model.head = "classification"
    config.data.task = arg.task
    config.data.data_dir = arg.data_dir or task_dir(arg.task)
    config.data.source = "local"
    config.data.max_length = 128
    config.data.length_buckets = (32, 64, 128)
    config.data.eval_batch_size = 64
    if arg.method not in METHODS:
        raise ValueError(f"unknown method {arg.method!r}; methods: {sorted(METHODS)}")
    learning_rate, options = METHODS[arg.method].recipe
    config.peft.method = arg.method
    config.peft.options = options
    config.optimizer.learning_rate = learning_rate
    if arg.recipe not in ("", "kshot", "glue"):
        raise ValueError(f"recipe={arg.recipe!r}; choose kshot or glue (default: kshot for lmbff/ tasks)")
    kshot = arg.recipe == "kshot" or (not arg.recipe and arg.task.startswith("lmbff/"))
    config.data.batch_size = 8 if kshot else 32
    config.train.num_steps = arg.steps or (1000 if kshot else 0)
    config.train.num_epochs = 3.0
    config.train.eval_every = 100 if kshot else 0
    config.train.checkpoint_every = 100 if kshot else 1000
    config.train.log_every = 20
    if arg.stage == 1:
        config.objective.name = "classification"
        return config
    config.objective.name = "early_exit"
    e = config.objective.early_exit
    e.scheme = "internal" if arg.stage == 2 else arg.scheme
    e.criterion = arg.criterion
    e.threshold = arg.threshold
    e.reads = arg.reads
    if arg.stage == 2:
        config.optimizer.learning_rate = 1e-3
    return config
