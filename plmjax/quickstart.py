"""Quickstart: adapt the real all-MiniLM-L6-v2 weights to a real-text task on a CPU, no network.

python -m plmjax.quickstart [--workdir=DIR] [--config.<a.b>=<value> ...]

The same as `python -m plmjax.main --config=configs/quickstart.py --workdir=/tmp/plmjax_quickstart`: it
classifies Python standard-library docstrings by topic, printing validation accuracy before and after training,
the share of parameters trained and the throughput, and leaving metrics.jsonl and TensorBoard events in the
workdir. `sentence_similarity_demo()` shows the same weights as a sentence encoder.
"""

import os
import sys

DEFAULT_WORKDIR = "/tmp/plmjax_quickstart"
CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "quickstart.py")

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is strumming an acoustic guitar.",
    "A chef is cooking pasta in a kitchen.",
    "Spaghetti is being prepared on the stove.",
    "The stock market fell sharply on Monday.",
    "Shares dropped at the start of the week.",
]


def sentence_similarity_demo(sentences=SENTENCES) -> None:
    """Cosine similarities of a few sentences under all-MiniLM-L6-v2, loaded strictly into plmjax."""
    import plmjax
    from plmjax.hf.bundled import minilm_path
    from plmjax.models.sentence_encoder import encode_sentences

    model, params = plmjax.from_pretrained(minilm_path())
    tokenizer = plmjax.load_tokenizer(minilm_path())
    embeddings = encode_sentences(model, params, tokenizer, sentences, batch_size=8)
    similarity = embeddings @ embeddings.T
    for i, sentence in enumerate(sentences):
        row = " ".join(f"{similarity[i, j]:5.2f}" for j in range(len(sentences)))
        print(f"  {row}  {sentence!r}")


def main(argv: list[str] | None = None) -> dict:
    from plmjax import main as plmjax_main

    argv = sys.argv[1:] if argv is None else list(argv)
    if not os.path.isfile(CONFIG):
        raise FileNotFoundError(f"{CONFIG} not found: run the quickstart from a checkout of the plmjax repository")
    if not any(arg.startswith("--workdir") for arg in argv):
        argv.append(f"--workdir={DEFAULT_WORKDIR}")
    return plmjax_main.main([f"--config={CONFIG}", *argv])


if __name__ == "__main__":
    main()
