"""PET, iPET (Schick & Schütze 2021) and self-training: a few labels plus unlabeled text, as pipelines of
ordinary runs. Every stage writes its result into its own folder of the workdir, and a rerun skips the stages
that are done and resumes the run that was cut off (runs resume from their checkpoints), so a killed pipeline
finishes with the labels an uninterrupted one gives.

    python -m plmjax.train.semi_supervised --method=pet --config=configs/lmbff.py:task=mr --workdir=/tmp/pet-mr

PET: each pattern-verbalizer pair (plmjax.prompting.presets.PVPS) is prompt-fine-tuned on the labeled set
(<workdir>/pvp-<p>); its accuracy on the labeled set before training is its ensemble weight; the PVP models
score the unlabeled set (one batched pass each) and their merged, tempered scores (T = 2) are the soft labels
(<workdir>/soft_labels.jsonl) a classifier learns with PET's distillation loss (<workdir>/final).
iPET: generations <workdir>/gen-<g>/pvp-<p>: each model of generation g trains on the labeled set plus the
examples a quarter of generation g-1's other models labeled, d = 5 times more each generation (plmjax.prompting.
pet.ipet_train_sets); the last generation's ensemble labels the final classifier's set.
Self-training: a classifier fine-tuned on the labeled set labels the unlabeled set; the confident examples
(probability >= --confidence, or the --top-share most confident of each class) join the labeled set of a
student trained from the pretrained model; the student is the next round's teacher (<workdir>/round-<r>).

The config is configs/lmbff.py's (its task, seed and data); the final model is scored on the task's test split
(<workdir>/result.json).
"""

import argparse
import json
import os
import sys

import numpy as np

from plmjax.data import unlabeled as unlabeled_data
from plmjax.data.task_inputs import get_task, read_split
from plmjax.prompting import pet
from plmjax.prompting.presets import PVPS
from plmjax.train.compilation_cache import use_compilation_cache
from plmjax.train.config_files import load_config, split_overrides
from plmjax.train.evaluate_run import evaluate_run
from plmjax.train.labeling import score_examples
from plmjax.train.loop import train_and_evaluate

METHODS = ("pet", "ipet", "self_training")


def write_json(path: str, value) -> None:
    """Written whole or not at all (a stage is done when its file exists)."""
    with open(path + ".partial", "w") as f:
        json.dump(value, f)
    os.replace(path + ".partial", path)


def write_examples(path: str, examples: list[dict]) -> None:
    with open(path + ".partial", "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in examples)
    os.replace(path + ".partial", path)


class Pipeline:
    def __init__(self, config_spec: str, overrides: dict, workdir: str, log=print, max_unlabeled: int = 0,
                 unlabeled_file: str = "", auxiliary_mlm: float = 0.0):  # fmt: skip
        self.config_spec, self.overrides, self.workdir, self.log = config_spec, overrides, workdir, log
        base = self.config()
        self.task = get_task(base.data)
        self.train = read_split(self.task, "train", base.data.max_train_examples)
        fields = self.task.text_fields
        pool, removed = unlabeled_data.unlabeled_for_task(self.task, self.train, unlabeled_file)
        self.unlabeled = pool[:max_unlabeled] if max_unlabeled else pool
        self.log(f"{len(self.unlabeled):,} unlabeled examples ({removed:,} labeled or test examples left out)")
        os.makedirs(workdir, exist_ok=True)
        # PET's auxiliary MLM (its PVP models also learn the unlabeled prompts): the set they read.
        self.auxiliary_mlm, self.unlabeled_path = auxiliary_mlm, os.path.join(workdir, "unlabeled.jsonl")
        if auxiliary_mlm and not os.path.exists(self.unlabeled_path):
            write_examples(self.unlabeled_path, [{f: e[f] for f in fields} for e in self.unlabeled])

    def config(self, **method):
        """configs/lmbff.py's config for this task and seed with method=... arguments, and the overrides."""
        path, _, arg = self.config_spec.partition(":")
        extra = ",".join(f"{k}={v}" for k, v in method.items())
        return load_config(f"{path}:{','.join(filter(None, (arg, extra)))}", self.overrides)

    def pvp_config(self, index: int, extra_file: str = ""):
        config = self.config(method="prompt")
        config.objective.prompt.template, config.objective.prompt.label_words = PVPS[self.task.name][index]
        config.data.extra_train_files = extra_file
        if self.auxiliary_mlm:
            config.objective.prompt.auxiliary_mlm = self.auxiliary_mlm
            config.objective.prompt.unlabeled_file = self.unlabeled_path
        return config

    def train_and_score(self, config, workdir: str) -> dict:
        """A run's labeled-set accuracy before training (PET's weight), then its training, then its scores on
        the unlabeled set; cached in <workdir>/scores.npz."""
        path = os.path.join(workdir, "scores.npz")
        if os.path.exists(path):
            with np.load(path) as saved:
                return dict(saved)
        labels = np.asarray([e["label"] for e in self.train])
        before = score_examples(config, workdir, self.train, which="initial")["scores"]
        train_and_evaluate(config, workdir, log=lambda *_: None)
        scored = score_examples(config, workdir, self.unlabeled)
        self.log(f"{workdir}: labeled the unlabeled set at {scored['examples_per_second']:,.0f} examples/s")
        result = {"accuracy_before": np.mean(before.argmax(-1) == labels), "unlabeled": scored["scores"]}
        np.savez(path + ".partial.npz", **result)
        os.replace(path + ".partial.npz", path)
        return result

    def generation(self, folder: str, extra_files=None) -> tuple[np.ndarray, np.ndarray]:
        """(unlabeled scores [models, examples, classes], weights [models]) of one generation of PVP models."""
        pvps = PVPS[self.task.name]
        results = []
        for index in range(len(pvps)):
            workdir = os.path.join(folder, f"pvp-{index}")
            extra = extra_files[index] if extra_files else ""
            results.append(self.train_and_score(self.pvp_config(index, extra), workdir))
        accuracies = np.asarray([r["accuracy_before"] for r in results])
        return np.stack([r["unlabeled"] for r in results]), pet.pvp_weights(accuracies)

    def final_classifier(self, scores, weights, temperature: float = pet.TEMPERATURE) -> dict:
        """The classifier on the ensemble's soft labels, scored on test."""
        path = os.path.join(self.workdir, "soft_labels.jsonl")
        if not os.path.exists(path):
            soft = pet.soft_labels(scores, weights, temperature)
            fields = self.task.text_fields
            rows = [
                {**{f: e[f] for f in fields}, "soft_labels": q.tolist()}
                for e, q in zip(self.unlabeled, soft, strict=True)
            ]
            write_examples(path, rows)
        config = self.config(method="finetune")
        config.objective.name = "soft_classification"
        config.objective.soft_classification.temperature = temperature
        config.data.extra_train_files, config.data.task_train = path, False
        return self.scored_run(config, os.path.join(self.workdir, "final"))

    def scored_run(self, config, workdir: str) -> dict:
        result_path = os.path.join(workdir, "result.json")
        if not os.path.exists(result_path):
            train_and_evaluate(config, workdir, log=lambda *_: None)
            write_json(result_path, evaluate_run(config, workdir, ("validation", "test")))
        with open(result_path) as f:
            return json.load(f)

    def pet(self) -> dict:
        scores, weights = self.generation(self.workdir)
        return self.final_classifier(scores, weights)

    def ipet(self, generations: int = 3) -> dict:
        labels = np.asarray([e["label"] for e in self.train])
        scores, weights = self.generation(os.path.join(self.workdir, "gen-0"))
        for g in range(1, generations + 1):
            folder = os.path.join(self.workdir, f"gen-{g}")
            os.makedirs(folder, exist_ok=True)
            extra_files = []
            sets = pet.ipet_train_sets(scores, weights, labels, g, seed=self.config().seed)
            for index, (rows, new_labels) in enumerate(sets):
                path = os.path.join(folder, f"pvp-{index}.jsonl")
                if not os.path.exists(path):
                    fields = self.task.text_fields
                    examples = [{**{f: self.unlabeled[r][f] for f in fields}, "label": int(label)}
                                for r, label in zip(rows, new_labels, strict=True)]  # fmt: skip
                    write_examples(path, examples)
                extra_files.append(path)
            scores, weights = self.generation(folder, extra_files)
        return self.final_classifier(scores, weights)

    def self_training(self, rounds: int = 3, confidence: float = 0.9, top_share: float = 0.0) -> dict:
        """confidence: keep the pseudo-labels with probability >= it; top_share > 0 instead keeps that share of
        each class's predicted examples, the most confident first (class-balanced as the predictions are)."""
        extra, result = "", None
        for r in range(rounds + 1):
            config = self.config(method="finetune")
            config.data.extra_train_files = extra
            workdir = os.path.join(self.workdir, f"round-{r}")
            result = self.scored_run(config, workdir)
            if r == rounds:
                break
            path = os.path.join(self.workdir, f"round-{r}-pseudo_labels.jsonl")
            if not os.path.exists(path):
                probs = pet.softmax(score_examples(config, workdir, self.unlabeled)["scores"])
                keep = confident(probs, confidence, top_share)
                fields = self.task.text_fields
                rows = [{**{f: self.unlabeled[i][f] for f in fields}, "label": int(probs[i].argmax())} for i in keep]
                write_examples(path, rows)
                self.log(f"round {r}: {len(rows):,} of {len(self.unlabeled):,} unlabeled examples kept")
            extra = path
        return result


def confident(probs, threshold: float, top_share: float = 0.0) -> np.ndarray:
    """Indices of the pseudo-labels kept: probability >= threshold, or (top_share > 0) the top_share most
    confident of each predicted class, in index order."""
    predicted, best = probs.argmax(-1), probs.max(-1)
    if not top_share:
        return np.flatnonzero(best >= threshold)
    kept = []
    for label in range(probs.shape[-1]):
        members = np.flatnonzero(predicted == label)
        order = members[np.argsort(-best[members], kind="stable")]
        kept.append(order[: int(round(top_share * len(members)))])
    return np.sort(np.concatenate(kept))


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    rest, overrides = split_overrides(argv)
    p = argparse.ArgumentParser(prog="python -m plmjax.train.semi_supervised", description=__doc__.split("\n\n")[0])
    p.add_argument("--method", choices=METHODS, required=True)
    p.add_argument("--config", required=True, help="configs/lmbff.py:task=...,seed=...")
    p.add_argument("--workdir", required=True)
    p.add_argument("--generations", type=int, default=3, help="iPET")
    p.add_argument("--rounds", type=int, default=3, help="self-training")
    p.add_argument("--confidence", type=float, default=0.9, help="self-training: the pseudo-label threshold")
    p.add_argument("--top-share", type=float, default=0.0, help="self-training: keep this share of each class")
    p.add_argument("--max-unlabeled", type=int, default=0, help="use the first N unlabeled examples (0: all)")
    p.add_argument("--unlabeled", default="", help="a file of unlabeled examples (default: the shared data's)")
    p.add_argument("--auxiliary-mlm", type=float, default=0.0, help="PET's auxiliary MLM weight (PET: 1e-4)")
    p.add_argument("--compilation-cache", default="", help="a directory for jax's persistent compilation cache")
    args = p.parse_args(rest)
    if args.compilation_cache:
        use_compilation_cache(args.compilation_cache)
    pipeline = Pipeline(args.config, overrides, args.workdir, max_unlabeled=args.max_unlabeled,
                        unlabeled_file=args.unlabeled, auxiliary_mlm=args.auxiliary_mlm)  # fmt: skip
    if args.method == "pet":
        result = pipeline.pet()
    elif args.method == "ipet":
        result = pipeline.ipet(args.generations)
    else:
        result = pipeline.self_training(args.rounds, args.confidence, args.top_share)
    write_json(os.path.join(args.workdir, "result.json"), {"method": args.method, **result})
    print(f"{args.method}: test {json.dumps(result['test'])}")
    return result


if __name__ == "__main__":
    main()
