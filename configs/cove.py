"""CoVe's MT-LSTM (McCann et al. 2017): a 2-layer biLSTM encoder trained inside an attentional LSTM seq2seq
model (objective cove, plmjax.models.cove), here on real paraphrase and entailment pairs, for the downstream
comparison in docs/older_architectures.md.

python benchmarks/build_paraphrase_pairs.py --out=/tmp/cove/pairs.jsonl
python -m plmjax.main --config=configs/cove.py:corpus=/tmp/cove/pairs.jsonl --workdir=/tmp/cove/run

The paper trains on English-German translation (WMT 2017, 7M pairs); no parallel corpus can be installed here, so
the pairs are SNLI premise -> entailed hypothesis and MRPC paraphrases (14k pairs, see the builder). A word
vocabulary is built on them (every word: the encoder's input; the most frequent `softmax` words: the decoder's);
the last 5% of the pairs are held out.

Arguments: corpus (a JSON-lines pairs file), size (tiny, small).
"""

from plmjax.train.config import cosine_schedule, default_config, parse_config_arg

SIZES = {
    # (embedding, hidden, softmax words, source length, target length, batch, steps, learning rate)
    "small": (128, 256, 8000, 40, 32, 32, 2000, 2e-3),
    "tiny": (16, 16, 100, 12, 8, 8, 30, 1e-2),
}


def get_config(arg=None):
    arg = parse_config_arg(arg, corpus="/tmp/cove/pairs.jsonl", size="small")
    embedding, hidden, softmax, source_length, target_length, batch, steps, learning_rate = SIZES[arg.size]
    config = default_config()
    config.objective.name = "cove"
    config.model.name_or_path = "cove"
    config.model.cove.update(embed_dim=embedding, hidden_size=hidden)
    config.data.corpus_files = arg.corpus
    config.data.tokenizer_kind = "word"
    config.data.tokenizer_vocab_size = softmax
    config.data.validation_fraction = 0.05
    config.data.max_length = source_length
    config.objective.text_to_text.target_length = target_length
    config.optimizer.weight_decay = 0.0
    log_every = 1 if arg.size == "tiny" else 50
    cosine_schedule(
        config, steps=steps, batch_size=batch, learning_rate=learning_rate, evaluations=10, log_every=log_every
    )
    return config
