"""Train a masked-LM head on the frozen all-MiniLM-L6-v2 encoder (it ships without one), for [MASK] prompts.

python -m plmjax.main --config=configs/minilm_mlm_head.py --workdir=/tmp/minilm_mlm_head

Build the corpus first (python benchmarks/build_mlm_corpus.py: real text from ../shared/data, LM-BFF's test
sentences left out); export and check the result with python benchmarks/minilm_mlm_fill.py --workdir=...

Arguments (after the colon, comma-separated):
  unfreeze_top  also train the top N of the 6 encoder layers (default 0: the head alone). The frozen encoder's
                state at [MASK] says little about the missing word (it was trained for mean-pooled sentence
                embeddings): the head alone learns little beyond word frequencies, unfreeze_top=2 a usable cloze
                head (docs/masked_lm_head.md)
  masking       whole_word (default: all pieces of a word together, as a [MASK] label word is one word) or token
  corpus        the folder benchmarks/build_mlm_corpus.py wrote (train.txt, held_out.txt)

The head is BERT's: transform (dense 384 -> 384, GELU, layer norm), then the decoder, tied to the frozen word
embeddings, plus a vocabulary bias; it starts from random values as the checkpoint has none. Dynamic masking of
15% of the tokens (a new mask every epoch, RoBERTa), vocabulary logits at the 5 predicted positions a row may
have, rows of 32 tokens (sentences packed per document: 63% of the positions are text, against 42% at 64, as
most documents are one short SentEval sentence), batch 64, AdamW at 2e-3 (the head alone; 5e-4 when encoder
layers train too) with 5% warmup and linear decay, 1,500 steps: about two epochs of the 50,240 rows, 0.6-0.75 s
a step on a shared 2-core CPU, 18-21 minutes in all.
"""

from plmjax.train.config import default_config, parse_config_arg

MASK_UNITS = {"whole_word": "word", "token": "token"}
NUM_LAYERS = 6  # all-MiniLM-L6-v2


def unfrozen_layers_regex(top: int) -> str:
    """A regex over the parameter paths of the top `top` encoder layers ("" for none)."""
    if not 0 <= top <= NUM_LAYERS:
        raise ValueError(f"unfreeze_top={top}; all-MiniLM-L6-v2 has {NUM_LAYERS} layers")
    if top == 0:
        return ""
    layers = "|".join(str(i) for i in range(NUM_LAYERS - top, NUM_LAYERS))
    return rf"encoder/layers_({layers})/.*"


def get_config(arg=None):
    from plmjax.hf.bundled import minilm_path

    arg = parse_config_arg(arg, unfreeze_top=0, masking="whole_word", corpus="/tmp/plmjax_mlm_corpus")
    if arg.masking not in MASK_UNITS:
        raise ValueError(f"masking={arg.masking!r}; choose one of {sorted(MASK_UNITS)}")
    config = default_config()
    config.model.name_or_path = minilm_path()
    config.model.head = "mlm"  # what the mlm objective sets anyway
    config.objective.name = "mlm"
    config.objective.masking = "dynamic"
    config.objective.mask_unit = MASK_UNITS[arg.masking]
    config.objective.mask_prob = 0.15
    config.objective.max_predictions = 5  # round(0.15 * 30) = 4 tokens a row (whole words fill at most that)
    config.data.tokenizer = minilm_path()
    config.data.corpus_files = f"{arg.corpus}/train.txt"
    config.data.validation_files = f"{arg.corpus}/held_out.txt"
    config.data.corpus_layout = "lines"
    config.data.max_length = 32
    config.data.batch_size = 64
    config.data.eval_batch_size = 128
    config.peft.method = "head_only"
    config.peft.extra_trainable = unfrozen_layers_regex(arg.unfreeze_top)
    config.optimizer.learning_rate = 2e-3 if arg.unfreeze_top == 0 else 5e-4
    config.optimizer.warmup_fraction = 0.05
    config.optimizer.weight_decay = 0.01
    config.train.num_steps = 1500
    config.train.log_every = 50
    config.train.eval_every = 250
    config.train.eval_before_training = True
    config.train.checkpoint_every = 250
    config.train.keep_checkpoints = 1
    config.lock()
    return config
