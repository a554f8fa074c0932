"""Probing accuracy by layer of a real encoder on the shared data: a table, a JSON of the numbers, and a plot.

nice -n 10 python benchmarks/probing_layers.py --model=all-MiniLM-L6-v2 --out=/tmp/probing_minilm.json
nice -n 10 python benchmarks/probing_layers.py --model=all-mpnet-base-v2 --out=/tmp/probing_mpnet.json
python benchmarks/probing_layers.py --plot /tmp/probing_minilm.json /tmp/probing_mpnet.json \
    --figure=docs/probing_layers.png    # needs matplotlib: pip install -c constraints.txt -e ".[bench]"

Sentence tasks (SUBJ, MR: a seeded stratified fifth held out; TREC: its own test file) probe the mean-pooled
states; the word task (capitalisation on WikiText-2, plmjax.probing.tasks) probes each word's first sub-token
against its Hewitt & Liang control task. Every layer's probe is fitted in one jitted program (docs/probing.md).
"""

import argparse
import json
import os
import time

import numpy as np

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def _majority(train_y, test_y) -> float:
    return float(np.mean(test_y == np.bincount(train_y).argmax()))


def run(args) -> dict:
    import plmjax
    from plmjax.hf.bundled import resolve_model
    from plmjax.probing import layer_accuracy, layer_features, layer_features_of_ids, probe_with_control
    from plmjax.probing.tasks import capitalisation_task, sentence_task

    path = resolve_model(args.model)
    model, params = plmjax.from_pretrained(path)
    tokenizer = plmjax.load_tokenizer(path)
    results = {"model": args.model, "probe": args.probe, "tasks": {}}
    for name in args.tasks.split(","):
        start = time.perf_counter()
        if name == "capitalisation":
            task = capitalisation_task(args.data, tokenizer, args.word_train_sentences, args.word_test_sentences)
            x = {
                split: layer_features_of_ids(
                    model,
                    params,
                    task[split]["ids"],
                    tokenizer.pad_token_id,
                    "token",
                    positions=task[split]["positions"],
                )
                for split in ("train", "test")
            }
            encoded = time.perf_counter()
            train, test = task["train"], task["test"]
            scores = probe_with_control(
                x["train"], train["labels"], x["test"], test["labels"], train["types"], test["types"], args.probe
            )
            row = {key: value.tolist() for key, value in scores.items()}
            row |= {"majority": _majority(train["labels"], test["labels"]), "rows": [len(train["labels"]),
                    len(test["labels"])], "feature": "token"}  # fmt: skip
        else:
            task = sentence_task(args.data, name, args.max_train, args.max_test)
            x = {
                split: layer_features(model, params, tokenizer, task[split][0], kind=args.kind)
                for split in ("train", "test")
            }
            encoded = time.perf_counter()
            (_, train_y), (_, test_y) = task["train"], task["test"]
            accuracy = layer_accuracy(x["train"], train_y, x["test"], test_y, args.probe)
            row = {"task": accuracy.tolist(), "majority": _majority(train_y, test_y),
                   "rows": [len(train_y), len(test_y)], "feature": args.kind}  # fmt: skip
        row |= {"encode_s": encoded - start, "probe_s": time.perf_counter() - encoded}
        results["tasks"][name] = row
        print(name, json.dumps({k: np.round(v, 4).tolist() if isinstance(v, list) else v for k, v in row.items()}))
    return results


def table(results: list[dict]) -> str:
    """Markdown: one row per (model, task, measure), one column per layer."""
    layers = max(len(row["task"]) for r in results for row in r["tasks"].values())
    lines = [
        "| model | task (feature; train/test rows; majority) | measure | " + " | ".join(map(str, range(layers))) + " |",
        "|---|---|---|" + "---|" * layers,
    ]
    for r in results:
        for name, row in r["tasks"].items():
            for measure in ("task", "control", "selectivity"):
                if measure in row:
                    cells = [f"{100 * v:.1f}" for v in row[measure]] + [""] * (layers - len(row[measure]))
                    label = f"{name} ({row['feature']}; {row['rows'][0]}/{row['rows'][1]}; {100 * row['majority']:.1f})"
                    lines.append(f"| {r['model']} | {label} | {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], figure: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        for index, (name, row) in enumerate(r["tasks"].items()):
            color = f"C{index}"
            ax.plot(100 * np.asarray(row["task"]), marker="o", color=color, label=f"{name} ({row['feature']})")
            if "selectivity" in row:
                ax.plot(100 * np.asarray(row["control"]), ls="--", color=color, label=f"{name} control task")
        ax.set_title(f"{r['model']}: {r['probe']} probe, held-out accuracy")
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel("accuracy (%)")
        ax.set_xticks(range(len(next(iter(r["tasks"].values()))["task"])))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="a bundled encoder's name or an HF directory")
    parser.add_argument("--tasks", default="SUBJ,MR,TREC,capitalisation")
    parser.add_argument("--kind", default="mean", help="sentence tasks' feature: mean or cls")
    parser.add_argument("--probe", default="linear", help="linear or mlp")
    parser.add_argument("--max-train", type=int, default=4000, help="sentence tasks: training rows subsampled to")
    parser.add_argument("--max-test", type=int, default=1000, help="sentence tasks: test rows subsampled to")
    parser.add_argument("--word-train-sentences", type=int, default=500)
    parser.add_argument("--word-test-sentences", type=int, default=200)
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--out", help="write the numbers here as JSON")
    parser.add_argument("--plot", nargs="+", metavar="JSON", help="no run: table and figure of these results")
    parser.add_argument("--figure", default="docs/probing_layers.png")
    args = parser.parse_args()
    if args.plot:
        results = []
        for name in args.plot:
            with open(name) as f:
                results.append(json.load(f))
        print(table(results))
        plot(results, args.figure)
        return
    start = time.perf_counter()
    results = run(args)
    results["command_args"] = vars(args)
    results["wall_s"] = time.perf_counter() - start
    print(table([results]))
    print(f"wall {results['wall_s']:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
