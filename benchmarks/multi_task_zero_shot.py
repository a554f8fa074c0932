"""Zero-shot transfer from multi-task prompted training (T0's protocol with a masked LM): train one model on a
mixture of tasks' prompts, then score held-out task clusters zero-shot, against the base model's zero-shot prompt.

    python benchmarks/multi_task_zero_shot.py --train=snli,rte,mnli,qnli,qqp --held-out=mr,cr,mpqa,trec,subj

1. The mixture run (<out>/mixture): configs/lmbff.py's prompt method with data.mixture = the training tasks'
   16-shot splits (seed 13), examples-proportional mixing (--cap, --temperature), --steps steps; its model,
   selected on the mean dev accuracy, exported as an HF masked LM (<out>/mixture/hf).
2. Every held-out task zero-shot (the few-shot runner's --zero-shot, one seed: the test set and the parameters
   are the same for every seed), from the base model and from the mixture's (<out>/<task>/{base,mixture}).
A held-out task whose cluster (plmjax.prompting.mixture.TASK_CLUSTERS) is trained is refused. Results:
docs/multi_task.md.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver_steps import REPO, call, train_and_export  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "lmbff.py")


def _lmbff_config():
    """configs/lmbff.py as a module (its TASK_DIRS: LM-BFF's folder names)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lmbff_config", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    from plmjax.data.pretraining.default_corpora import DATA_ROOT

    TASK_DIRS = _lmbff_config().TASK_DIRS  # noqa: N806
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default="snli,rte,mnli,qnli,qqp")
    p.add_argument("--held-out", default="mr,cr,mpqa,trec,subj")
    p.add_argument("--out", default="/tmp/multi_task")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--cap", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--model", default="", help="configs/lmbff.py's model (default: MiniLM with plmjax's MLM head)")
    p.add_argument("--data", default="", help="the LM-BFF k-shot folder (default: the shared data's)")
    p.add_argument("--snli-data", default="/tmp/plmjax_lmbff_snli", help="benchmarks/lmbff_snli.py's --out")
    args = p.parse_args(argv)
    from plmjax.prompting.mixture import check_held_out

    trained, held_out = args.train.split(","), args.held_out.split(",")
    check_held_out([f"lmbff/{t}" for t in trained], [f"lmbff/{t}" for t in held_out])
    data = args.data or os.path.join(DATA_ROOT, "lmbff_kshot")
    extra = (f",model={args.model}" if args.model else "") + (f",data={data}" if args.data else "")

    workdir = os.path.join(args.out, "mixture")
    exported = os.path.join(workdir, "hf")
    if not os.path.isdir(exported):
        dirs = [os.path.join(args.snli_data if t == "snli" and not args.data else data, TASK_DIRS.get(t, t), "16-13")
                for t in trained]  # fmt: skip
        mixture = ",".join(f"lmbff/{t}={d}" for t, d in zip(trained, dirs, strict=True))
        spec = f"{CONFIG}:task={trained[0]},method=prompt,seed=13,steps={args.steps}{extra}"
        overrides = [f"--config.data.mixture={mixture}", f"--config.data.mixture_cap={args.cap}",
                     f"--config.data.mixture_temperature={args.temperature}"]  # fmt: skip
        train_and_export(spec, workdir, exported, overrides)

    rows = []
    for task in held_out:
        scores = {}
        for start, model in (("base", ""), ("mixture", exported)):
            cell = os.path.join(args.out, task, start)
            if not os.path.exists(os.path.join(cell, "results.md")):
                arg = f"task={task},method=prompt{extra}" + (f",model={model}" if model else "")
                call([sys.executable, "-m", "plmjax.train.few_shot", f"--config={CONFIG}:{arg}", f"--workdir={cell}",
                       "--zero-shot", "--seeds=13"], os.path.join(cell, "log.txt"))  # fmt: skip
            with open(os.path.join(cell, "metrics.jsonl")) as f:
                scores[start] = 100 * json.loads(f.readline())["test"]["accuracy"]
        rows.append(
            f"| {task} | {scores['base']:.1f} | {scores['mixture']:.1f} | {scores['mixture'] - scores['base']:+.1f} |"
        )
    print("| held-out task | base model, zero-shot | after the mixture, zero-shot | gain |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
