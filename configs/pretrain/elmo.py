"""ELMo's biLM (Peters et al. 2018) pretrained on WikiText-2, or the forward LSTM LM of the same size per
direction, for the comparison in docs/older_architectures.md.

python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=true --workdir=/tmp/elmo_bilm
python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=false --workdir=/tmp/elmo_forward

The corpus here has WikiText-2's validation file only (../shared/data/wikitext2/valid.txt): its first 90% of
articles train and the last 10% are held out. Words are WikiText's own (whitespace-separated); every word is
read through the character CNN, and the softmax predicts the `softmax` most frequent (the others as <unk>).
Each step takes windows of max_length words at random offsets of the text (data.sampling=random_windows), as
bilm-tf trains on 20-word unrolls; the held-out loss is over data.eval_batches such windows of the held-out text.

Arguments: bidirectional (false: the forward LM alone), size (tiny, small), corpus.
"""

from plmjax.data.pretraining.default_corpora import WIKITEXT2_VALID
from plmjax.train.config import cosine_schedule, parse_config_arg, pretraining_config

SIZES = {
    # (projection, cell, filters, max chars, softmax words, window, batch, steps, learning rate)
    "small": (128, 512, ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)), 20, 10000, 32, 32, 2000, 2e-3),
    "tiny": (16, 32, ((1, 4), (2, 8), (3, 8)), 12, 200, 12, 8, 30, 3e-2),
}


def get_config(arg=None):
    arg = parse_config_arg(arg, bidirectional=True, size="small", corpus=WIKITEXT2_VALID)
    projection, cell, filters, max_chars, softmax, window, batch, steps, learning_rate = SIZES[arg.size]
    corpus = arg.corpus
    config = pretraining_config("bilm", "elmo", size="tiny", corpus=corpus, layout="wikitext", tokenizer_kind="word")
    config.model.name_or_path = "elmo"
    config.model.config_overrides = {}
    config.model.elmo.update(
        projection_dim=projection,
        cell_size=cell,
        filters=filters,
        max_chars=max_chars,
        bidirectional=arg.bidirectional,
    )
    config.data.sampling = "random_windows"
    config.data.tokenizer_vocab_size = softmax
    config.data.validation_fraction = 0.1
    config.data.max_length = window
    config.data.eval_batches = 100 if arg.size == "small" else 2
    config.optimizer.weight_decay = 0.0
    log_every = 1 if arg.size == "tiny" else 50
    cosine_schedule(
        config, steps=steps, batch_size=batch, learning_rate=learning_rate, evaluations=5, log_every=log_every
    )
    return config
