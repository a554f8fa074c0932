"""SimCSE (Gao, Yao & Chen 2021): contrastive sentence embeddings, unsupervised or supervised.

python benchmarks/build_sentence_corpus.py      # the shared data's sentences and SNLI triplets, into /tmp
python -m plmjax.main --config=configs/sentence.py:mode=unsup --workdir=/tmp/simcse_unsup
python -m plmjax.main --config=configs/sentence.py:mode=sup --workdir=/tmp/simcse_sup
python -m plmjax.train.export_run --config=configs/sentence.py:mode=unsup --workdir=/tmp/simcse_unsup \
    --out=/tmp/simcse_unsup/hf
python -m plmjax.sentence.evaluate --model=/tmp/simcse_unsup/hf --pooling=cls_before_pooler

Arguments (after the colon, comma-separated):
  mode      unsup (a .txt of sentences, each seen twice with two dropout masks; [CLS] + MLP in training, [CLS]
            alone at test) or sup (a .csv of sent0,sent1,hard_neg NLI triplets; the MLP at test too)
  model     an HF encoder directory, "all-MiniLM-L6-v2" or "all-mpnet-base-v2" (the bundled weights) or a
            preset (random init; then give tokenizer)
  corpus    the training file (default: what benchmarks/build_sentence_corpus.py writes for the mode)
  tokenizer a tokenizer directory (default: the model's)
  augment   unsup: "", shuffle or cutoff on the second view (ConSERT's, plmjax.sentence.augment)
  steps     training steps (0: one epoch unsupervised, three supervised, as SimCSE trains)

SimCSE's recipe: batch 64, sequences up to 32 tokens, temperature 0.05, AdamW with linear decay, no warmup, no
weight decay, learning rate 3e-5 (unsupervised BERT-base) or 5e-5 (supervised); the checkpoint with the best
STS-B dev Spearman is kept, evaluated every 125 steps (SimCSE: 250, over many more steps). SimCSE's supervised
batch of 512 does not fit a 2-core CPU's time: 64 here.
"""

from plmjax.data.pretraining.default_corpora import DATA_ROOT
from plmjax.hf.bundled import resolve_model
from plmjax.train.config import default_config, parse_config_arg

CORPUS = {"unsup": "/tmp/plmjax_sentence_corpus/unsup.txt", "sup": "/tmp/plmjax_sentence_corpus/snli_triplets.csv"}


def get_config(arg=None):
    arg = parse_config_arg(arg, mode="unsup", model="all-MiniLM-L6-v2", corpus="", tokenizer="", augment="", steps=0)
    if arg.mode not in CORPUS:
        raise ValueError(f"mode={arg.mode!r}; choose one of {sorted(CORPUS)}")
    supervised = arg.mode == "sup"
    config = default_config()
    config.model.name_or_path = resolve_model(arg.model)
    config.objective.name = "simcse"
    config.objective.simcse.mlp_at_test = supervised
    config.objective.simcse.augmentation = arg.augment
    config.data.task = "sentences"
    config.data.corpus_files = arg.corpus or CORPUS[arg.mode]
    config.data.validation_files = f"{DATA_ROOT}/stsb/dev.tsv"
    config.data.tokenizer = arg.tokenizer or None
    config.data.max_length = 32
    config.data.length_buckets = (16, 32)
    config.data.batch_size = 64
    config.data.eval_batch_size = 128
    config.optimizer.learning_rate = 5e-5 if supervised else 3e-5
    config.optimizer.warmup_steps = 0
    config.optimizer.weight_decay = 0.0
    config.train.num_steps = arg.steps
    config.train.num_epochs = 3.0 if supervised else 1.0
    config.train.eval_every = 125
    config.train.eval_before_training = True
    config.train.checkpoint_every = 125
    config.train.log_every = 25
    return config
