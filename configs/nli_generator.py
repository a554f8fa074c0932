"""STraTA's NLI data generator: a seq2seq model (T5) fine-tuned on an NLI task's pairs cast as text,
"<label>: <premise>" -> "<hypothesis>" (objective text_to_text). plmjax.train.task_augmentation writes the pairs
file and sets data.corpus_files; by hand:

python -m plmjax.main --config=configs/nli_generator.py:model=/path/to/t5 --workdir=/tmp/nli-generator \
    --config.data.corpus_files=/tmp/strata/generator_pairs.jsonl

Arguments (after the colon, comma-separated):
  model          an HF T5 (or BART) directory with its tokenizer (STraTA: T5-3B; none can be installed here)
  steps          training steps (default 2000)
  source_length, target_length  tokens of each side (default 128, STraTA's)
  learning_rate  Adafactor's, constant (default 1e-3: T5's fine-tuning recipe, which STraTA's generator used)

Batch 8; the last 5% of the pairs held out.
"""

from plmjax.train.config import default_config, parse_config_arg


def get_config(arg=None):
    arg = parse_config_arg(arg, model="", steps=2000, learning_rate=1e-3, source_length=128, target_length=128)
    config = default_config()
    config.model.name_or_path = arg.model
    config.objective.name = "text_to_text"
    config.objective.text_to_text.target_length = arg.target_length
    config.data.max_length = arg.source_length
    config.data.validation_fraction = 0.05
    config.data.batch_size = 8
    config.data.eval_batch_size = 32
    config.optimizer.name = "adafactor"
    config.optimizer.learning_rate = arg.learning_rate
    config.optimizer.decay = "constant"
    config.optimizer.warmup_steps = 0
    config.train.num_steps = arg.steps
    config.train.eval_every = max(arg.steps // 10, 1)
    config.train.log_every = max(arg.steps // 10, 1)
    config.train.checkpoint_every = max(arg.steps // 10, 1)
    config.train.keep_checkpoints = 1
    return config
