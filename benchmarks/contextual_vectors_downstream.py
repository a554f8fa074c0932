"""ELMo and CoVe downstream on TREC: contextual vectors from a frozen pretrained model feeding a sentence
classifier, against the same model's non-contextual vectors.

python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=true --workdir=/tmp/elmo/bi_true
python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=false --workdir=/tmp/elmo/bi_false
python benchmarks/build_paraphrase_pairs.py --out=/tmp/cove/pairs.jsonl
python -m plmjax.main --config=configs/cove.py:corpus=/tmp/cove/pairs.jsonl --workdir=/tmp/cove/run
python benchmarks/contextual_vectors_downstream.py --bilm=/tmp/elmo/bi_true --forward=/tmp/elmo/bi_false \
    --cove=/tmp/cove/run --out=/tmp/contextual_trec.json

Rows: the biLM's character-CNN layer alone and the scalar mix of all its layers (ELMo); the forward LSTM LM's
mix; CoVe's word vectors alone and [word vectors; CoVe]. TREC's train file trains (a seeded tenth held out as
the dev split that picks each run's checkpoint) and its test file scores; five classifier seeds per row, mean
(std) test accuracy (plmjax.models.contextual_features).
"""

import argparse
import json
import os

import numpy as np

DATA = os.environ.get("PLMJAX_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")


def restore(workdir: str, config_spec: str):
    """(the run's model, its best checkpoint's parameters, the step, the run's data)."""
    from plmjax.train.config_files import load_config
    from plmjax.train.evaluate_run import restored_params

    run, params, step = restored_params(load_config(config_spec), workdir, "best")
    return run.setup.model, params, step, run.source.data


def split_texts(task: dict, seed: int = 0) -> dict:
    """{"train", "dev" (a seeded tenth of TREC's train file), "test"}: (word lists, labels)."""
    texts, labels = task["train"]
    dev = np.random.default_rng(seed).permutation(len(labels)) < len(labels) // 10
    parts = {
        "train": ([t for t, d in zip(texts, dev, strict=True) if not d], labels[~dev]),
        "dev": ([t for t, d in zip(texts, dev, strict=True) if d], labels[dev]),
        "test": task["test"],
    }
    return {name: ([t.split() for t in split], np.asarray(y, np.int32)) for name, (split, y) in parts.items()}


def elmo_features(workdir: str, bidirectional: bool, texts: dict, max_words: int):
    from plmjax.models.contextual_features import bilm_layers

    spec = f"{CONFIGS}/pretrain/elmo.py:bidirectional={str(bidirectional).lower()}"
    model, params, step, _ = restore(workdir, spec)
    splits = {}
    for name, (words, labels) in texts.items():
        layers, mask = bilm_layers(model, params, words, max_words)
        splits[name] = (layers, mask, labels)
    return splits, step


def cove_features(workdir: str, pairs: str, texts: dict, max_words: int):
    from plmjax.models.contextual_features import cove_vectors

    model, params, step, data = restore(workdir, f"{CONFIGS}/cove.py:corpus={pairs}")
    vectors = {
        name: cove_vectors(model, params, data.tokenizer, words, max_words) for name, (words, _) in texts.items()
    }
    return {
        kind: {name: (v[kind], v["mask"], texts[name][1]) for name, v in vectors.items()}
        for kind in ("words", "words+cove")
    }, step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bilm", default="", help="workdir of configs/pretrain/elmo.py:bidirectional=true")
    parser.add_argument("--forward", default="", help="workdir of the forward LM (bidirectional=false)")
    parser.add_argument("--cove", default="", help="workdir of configs/cove.py")
    parser.add_argument("--pairs", default="/tmp/cove/pairs.jsonl", help="the CoVe run's pairs file")
    parser.add_argument("--task", default="TREC")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max_words", type=int, default=40)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    from plmjax.models.contextual_features import train_classifier
    from plmjax.probing.tasks import sentence_task

    task = sentence_task(DATA, args.task)
    num_labels = int(max(task["train"][1].max(), task["test"][1].max())) + 1
    texts = split_texts(task)
    rows = []

    def score(model: str, features: str, splits: dict, layers, step: int):
        results = [
            train_classifier(splits, num_labels, layers, seed=seed, steps=args.steps) for seed in range(args.seeds)
        ]
        test, dev = (np.array([r[split] for r in results]) * 100 for split in ("test", "dev"))
        rows.append({"model": model, "checkpoint_step": step, "features": features, "test_mean": test.mean(),
                     "test_std": test.std(), "dev_mean": dev.mean(), "mix": [r["mix"] for r in results]})  # fmt: skip
        print(f"{model:10s} {features:28s} test {test.mean():.1f} ({test.std():.1f})  dev {dev.mean():.1f}", flush=True)

    if args.bilm:
        splits, step = elmo_features(args.bilm, True, texts, args.max_words)
        score("ELMo biLM", "character CNN layer alone", splits, [0], step)
        score("ELMo biLM", "scalar mix of all layers", splits, None, step)
    if args.forward:
        splits, step = elmo_features(args.forward, False, texts, args.max_words)
        score("forward LM", "character CNN layer alone", splits, [0], step)
        score("forward LM", "scalar mix of all layers", splits, None, step)
    if args.cove:
        by_kind, step = cove_features(args.cove, args.pairs, texts, args.max_words)
        score("CoVe", "word vectors alone", by_kind["words"], None, step)
        score("CoVe", "[word vectors; CoVe]", by_kind["words+cove"], None, step)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
