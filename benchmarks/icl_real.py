"""In-context learning on real data with the GPT-2 plmjax pretrains itself (configs/gpt2_icl.py): k-shot prompts
from LM-BFF's 16-shot training splits (five seeds), scored on a seeded sample of each task's test set, with and
without contextual calibration, demonstrations in --orders orders.

    python benchmarks/icl_real.py --workdir=/tmp/gpt2_icl --tasks=mr,cr,subj --shots=0,4 --test-size=500

The trained run is exported once (<workdir>/hf, with its BPE tokenizer) and loaded with plmjax.from_pretrained.
Prints, per task and k, the accuracy mean (std) over seeds (each seed's value the mean over its orders), raw and
calibrated, beside the majority class of the sample. Results: docs/in_context.md.
"""

import argparse
import os
import sys

import numpy as np

import plmjax
from plmjax.data import get_task, read_examples
from plmjax.data.pretraining.default_corpora import DATA_ROOT
from plmjax.in_context import IclPrompt, evaluate_icl
from plmjax.prompting.prompt_data import as_prompt_example
from plmjax.train.config_files import split_overrides

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "gpt2_icl.py")

PROMPTS = {
    "mr": IclPrompt("Review: {text_a}\nSentiment:", (" negative", " positive")),
    "cr": IclPrompt("Review: {text_a}\nSentiment:", (" negative", " positive")),
    "mpqa": IclPrompt("Phrase: {text_a}\nSentiment:", (" negative", " positive")),
    "subj": IclPrompt("Input: {text_a}\nType:", (" subjective", " objective")),
}
SEEDS = (13, 21, 42, 87, 100)


def exported_model(spec: str, overrides: dict, workdir: str):
    """(model, params, tokenizer) of the run's best checkpoint, exported once to <workdir>/hf."""
    from plmjax.train.config_files import load_config
    from plmjax.train.export_run import export_run

    out = os.path.join(workdir, "hf")
    if not os.path.isdir(out):
        config = load_config(spec, overrides)
        export_run(config, workdir, out, tokenizer_path=os.path.join(workdir, "tokenizer"))
    model, params = plmjax.from_pretrained(out, "lm")
    return model, params, plmjax.load_tokenizer(out)


def split(task: str, seed: int, name: str, data: str) -> list[dict]:
    spec = get_task(f"lmbff/{task}", data_dir=os.path.join(data, task, f"16-{seed}"), source="local")
    return [as_prompt_example(e, spec.text_fields) for e in read_examples(spec, name)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="the configs/gpt2_icl.py run")
    p.add_argument("--config", default=CONFIG, help="the run's config (and --config.<key>=<value> overrides)")
    p.add_argument("--tasks", default="mr,cr,subj")
    p.add_argument("--shots", default="0,4")
    p.add_argument("--test-size", type=int, default=500, help="a seeded sample of the test set (0: all)")
    p.add_argument("--orders", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--data", default=os.path.join(DATA_ROOT, "lmbff_kshot"))
    rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(rest)
    model, params, tokenizer = exported_model(args.config, overrides, args.workdir)
    print("| task | k | majority | accuracy | calibrated |\n|---|---|---|---|---|")
    for task in args.tasks.split(","):
        test = split(task, SEEDS[0], "test", args.data)
        if args.test_size and args.test_size < len(test):
            test = [test[i] for i in sorted(np.random.default_rng(0).choice(len(test), args.test_size, replace=False))]
        majority = 100 * np.bincount([e["label"] for e in test]).max() / len(test)
        for k in (int(s) for s in args.shots.split(",")):
            raw, calibrated = [], []
            for seed in SEEDS:
                train = split(task, seed, "train", args.data)
                result = evaluate_icl(model, params, tokenizer, PROMPTS[task], train, test, k=k, seed=seed,
                                      orders=args.orders if k else 1, batch_size=args.batch_size)  # fmt: skip
                raw.append(100 * result["summary"]["mean"])
                calibrated.append(100 * result["calibrated_summary"]["mean"])
                if k == 0:
                    break  # no demonstrations: every seed scores the same prompts
            print(f"| {task} | {k} | {majority:.1f} | {np.mean(raw):.1f} ({np.std(raw):.1f}) | "
                  f"{np.mean(calibrated):.1f} ({np.std(calibrated):.1f}) |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
