"""Transfer between tasks with LM-BFF's few-shot protocol: intermediate-task fine-tuning (a prompt-based model
trained on a source task starts the target's prompt-based fine-tuning) and SPoT (a soft prompt tuned on a
source task starts the target's prompt tuning), each target scored with the five seeds, mean test accuracy.

    python benchmarks/transfer_matrix.py --method=prompt --sources=snli,rte --targets=mr,cr,trec --out=/tmp/transfer
    python benchmarks/transfer_matrix.py --method=prompt_tuning --sources=snli,rte --targets=mr,cr,trec --out=/tmp/spot

Stages, each skipped when its result exists (the runs resume):
1. source S: configs/lmbff.py:task=S,method=<method>,seed=13 trained on S's 16-shot split (<out>/source-S),
   then its model exported as an HF masked LM (prompt: <out>/source-S/hf) or its learned prompt saved
   (prompt_tuning: <out>/source-S/prompt.npy);
2. target T from each source and from none (the base model, a random prompt): the few-shot runner, five seeds
   (<out>/T/from-S, <out>/T/from-none);
3. SPoT's retrieval (prompt_tuning): T's prompt tuned for --early-steps (<out>/T/early), its task embedding's
   cosine similarity to each source's, and the Spearman correlation of similarity with the transfer gain.
Prints the matrix of mean test accuracies, the gains over "none", and (prompt_tuning) the retrieval table.
Results: docs/multi_task.md.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver_steps import REPO, call, train_and_export  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "lmbff.py")


def source_stage(task: str, args) -> str:
    """The source's exported model directory (prompt) or saved prompt file (prompt_tuning)."""
    workdir = os.path.join(args.out, f"source-{task}")
    result = os.path.join(workdir, "hf" if args.method == "prompt" else "prompt.npy")
    if not os.path.exists(result):
        spec = f"{CONFIG}:task={task},method={args.method},seed=13,steps={args.steps}{args.extra}"
        train_and_export(spec, workdir, result, prompt=args.method == "prompt_tuning")
    return result


def target_stage(target: str, source: str, start: str | None, args) -> float:
    """Mean test accuracy (%) over the five seeds of the target started from `start` (None: the default)."""
    workdir = os.path.join(args.out, target, f"from-{source}")
    metrics = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(os.path.join(workdir, "results.md")):
        arg = f"task={target},method={args.method},steps={args.steps}{args.extra}"
        flags = []
        if start and args.method == "prompt":
            arg += f",model={start}"  # after --model's: the later argument wins
        elif start:
            flags = ["--config.peft.options.init=saved", f"--config.peft.options.saved={start}"]
        if os.path.exists(metrics):
            os.remove(metrics)  # a cut-off cell reruns its seeds (each resumes from its checkpoints)
        call([sys.executable, "-m", "plmjax.train.few_shot", f"--config={CONFIG}:{arg}", f"--workdir={workdir}",
               f"--compilation-cache={os.path.join(args.out, 'jax_cache')}", *flags],
              os.path.join(workdir, "log.txt"))  # fmt: skip
    with open(metrics) as f:
        return 100 * float(np.mean([json.loads(line)["test"]["accuracy"] for line in f]))


def early_embedding(target: str, args) -> np.ndarray:
    from plmjax.prompting.prompt_transfer import task_embedding

    workdir = os.path.join(args.out, target, "early")
    path = os.path.join(workdir, "prompt.npy")
    if not os.path.exists(path):
        spec = f"{CONFIG}:task={target},method=prompt_tuning,seed=13,steps={args.early_steps}{args.extra}"
        train_and_export(spec, workdir, path, prompt=True, which="latest")
    return task_embedding(np.load(path))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", choices=("prompt", "prompt_tuning"), default="prompt")
    p.add_argument("--sources", default="snli,rte")
    p.add_argument("--targets", default="mr,cr,trec")
    p.add_argument("--out", default="/tmp/transfer")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--early-steps", type=int, default=25, help="SPoT: the target prompt's training for retrieval")
    p.add_argument("--model", default="", help="configs/lmbff.py's model (default: MiniLM with plmjax's MLM head)")
    p.add_argument("--data", default="", help="configs/lmbff.py's data (default: the shared LM-BFF k-shot folder)")
    args = p.parse_args(argv)
    args.extra = (f",model={args.model}" if args.model else "") + (f",data={args.data}" if args.data else "")
    sources, targets = args.sources.split(","), args.targets.split(",")
    starts = {source: source_stage(source, args) for source in sources}
    table = {t: {s: target_stage(t, s, starts.get(s), args) for s in ["none", *sources]} for t in targets}
    print("| target | none | " + " | ".join(f"from {s}" for s in sources) + " |")
    print("|---" * (len(sources) + 2) + "|")
    for t in targets:
        cells = [f"{table[t][s]:.1f} ({table[t][s] - table[t]['none']:+.1f})" for s in sources]
        print(f"| {t} | {table[t]['none']:.1f} | " + " | ".join(cells) + " |")
    if args.method == "prompt_tuning":
        from plmjax.prompting.prompt_transfer import rank_sources, spearman, task_embedding

        embeddings = {s: task_embedding(np.load(starts[s])) for s in sources}
        print("\n| target | sources by similarity | Spearman(similarity, gain) |\n|---|---|---|")
        for t in targets:
            ranked = rank_sources(early_embedding(t, args), embeddings)
            gains = [table[t][s] - table[t]["none"] for s, _ in ranked]
            rho = spearman([c for _, c in ranked], gains) if len(sources) > 1 else float("nan")
            print(f"| {t} | {', '.join(f'{s} ({c:.2f})' for s, c in ranked)} | {rho:.2f} |")


if __name__ == "__main__":
    main()
