"""STraTA (Vu et al. 2021): task augmentation, then self-training from the model it gives.

    python -m plmjax.train.task_augmentation --nli-config=configs/lmbff.py:task=snli,method=finetune \\
        --generator-config=configs/nli_generator.py:model=/path/to/t5 \\
        --target-config=configs/lmbff.py:task=rte,seed=13 --workdir=/tmp/strata-rte

Task augmentation turns a target task's unlabeled text into NLI training data:
1. An NLI data generator: a seq2seq model (T5) fine-tuned on the NLI task's training pairs cast as text,
   "<label>: <premise>" -> "<hypothesis>" (objective text_to_text; with --reversed also
   "<label>_reversed: <hypothesis>" -> "<premise>", STraTA's reversed models). <workdir>/generator, exported to
   <workdir>/generator/hf; --generator=<dir> uses an already fine-tuned generator instead.
2. For each in-domain text (the target task's unlabeled examples, each text field) and each NLI label, the
   generator samples --samples outputs with top-k sampling (STraTA: k = 40): synthetic NLI examples
   (text, output) -> label, or (output, text) for the reversed prompts (<workdir>/synthetic.jsonl).
3. An NLI classifier (the NLI config's model fine-tuned on the NLI task, <workdir>/nli_classifier) keeps a
   synthetic example when its probability of the intended label is >= --threshold (<workdir>/filtered.jsonl).
4. The auxiliary-task model: the NLI config's model trained on the kept synthetic examples
   (<workdir>/auxiliary-synthetic), then on the real NLI data (<workdir>/auxiliary); its encoder, without
   the NLI head, is exported to <workdir>/auxiliary/hf.
Then self-training (plmjax.train.semi_supervised) of the target task starts from that encoder
(<workdir>/self-training): the teacher and every student begin at the auxiliary model, and by default every
pseudo-label is kept (--confidence=0, STraTA's "broad" distribution).

Each stage writes its result into the workdir and a rerun skips what is done (runs resume from their
checkpoints). Real results need a pretrained T5 (STraTA's generator is T5-3B fine-tuned on MNLI), which cannot
be installed here: docs/semi_supervised.md says what was run.
"""

import argparse
import json
import os
import shutil
import sys

import jax
import numpy as np

from plmjax.data.task_inputs import get_task, read_split
from plmjax.prompting import pet
from plmjax.train.config_files import load_config, split_overrides
from plmjax.train.export_run import export_run
from plmjax.train.labeling import score_examples
from plmjax.train.loop import train_and_evaluate
from plmjax.train.semi_supervised import Pipeline, write_examples

REVERSED = "_reversed"
TOP_K = 40  # STraTA's top-k sampling


def generator_pairs(examples: list[dict], fields: tuple[str, str], label_names, reversed_: bool = False) -> list:
    """The NLI generator's training pairs: "<label>: <premise>" -> "<hypothesis>" (and the reversed ones)."""
    first, second = fields
    rows = []
    for e in examples:
        name = label_names[e["label"]]
        rows.append({"source": f"{name}: {e[first]}", "target": e[second]})
        if reversed_:
            rows.append({"source": f"{name}{REVERSED}: {e[second]}", "target": e[first]})
    return rows


def _encode_sources(tokenizer, sources: list[str], length: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(sources), length), tokenizer.pad_token_id, np.int32)
    mask = np.zeros((len(sources), length), np.int32)
    for row, tokens in enumerate(tokenizer(sources, add_special_tokens=False)["input_ids"]):
        tokens = list(tokens[: length - 1]) + [tokenizer.eos_token_id]
        ids[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
    return ids, mask


def generate_nli_examples(model, params, tokenizer, texts, label_names, fields, *, samples: int, seed: int,
                          top_k: int = TOP_K, reversed_: bool = False, batch_size: int = 32,
                          source_length: int = 128, max_new_tokens: int = 64) -> list[dict]:  # fmt: skip
    """Synthetic NLI examples: for every text, label (and direction, with reversed_), `samples` outputs of the
    generator sampled with top-k; empty outputs are dropped. Batches are padded to one shape (one compilation);
    batch b samples with fold_in(key(seed), b)."""
    from plmjax.generation.api import generate

    prompts = [(text, label, False) for text in texts for label in range(len(label_names))]
    if reversed_:
        prompts += [(text, label, True) for text in texts for label in range(len(label_names))]
    first, second = fields
    rows = []
    for number, start in enumerate(range(0, len(prompts), batch_size)):
        chunk = prompts[start : start + batch_size]
        sources = [f"{label_names[label]}{REVERSED if back else ''}: {text}" for text, label, back in chunk]
        sources += sources[:1] * (batch_size - len(sources))  # padding rows, dropped below
        ids, mask = _encode_sources(tokenizer, sources, source_length)
        rng = jax.random.fold_in(jax.random.key(seed), number)
        out = generate(model, params, ids, mask, max_new_tokens=max_new_tokens, do_sample=True, top_k=top_k,
                       rng=rng, num_return_sequences=samples)  # fmt: skip
        outputs = tokenizer.batch_decode(np.asarray(out)[:, 1:], skip_special_tokens=True)
        for index, (text, label, back) in enumerate(chunk):
            for output in outputs[index * samples : (index + 1) * samples]:
                output = output.strip()
                if output:
                    pair = (output, text) if back else (text, output)
                    rows.append({first: pair[0], second: pair[1], "label": label})
    return rows


def kept_by_classifier(probs: np.ndarray, labels, threshold: float) -> np.ndarray:
    """Indices of the synthetic examples whose intended label has probability >= threshold."""
    labels = np.asarray(labels)
    return np.flatnonzero(probs[np.arange(len(labels)), labels] >= threshold)


def _read_examples(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


class TaskAugmentation:
    def __init__(self, nli_spec: str, overrides: dict, workdir: str, log=print):
        self.nli_spec, self.overrides, self.workdir, self.log = nli_spec, overrides, workdir, log
        self.nli_task = get_task(self.nli_config().data)
        if len(self.nli_task.text_fields) != 2 or not self.nli_task.label_names:
            raise ValueError(f"task {self.nli_task.name} is not an NLI task (two text fields, named labels)")
        os.makedirs(workdir, exist_ok=True)

    def path(self, *parts) -> str:
        return os.path.join(self.workdir, *parts)

    def nli_config(self):
        return load_config(self.nli_spec, self.overrides)

    def _export(self, config, workdir: str, head) -> str:
        """<workdir>/hf, written whole (a partial export is redone)."""
        out = os.path.join(workdir, "hf")
        if not os.path.isdir(out):
            shutil.rmtree(out + ".partial", ignore_errors=True)
            export_run(config, workdir, out + ".partial", head=head)
            os.replace(out + ".partial", out)
        return out

    def train_generator(self, generator_spec: str, reversed_: bool = False) -> str:
        """Stage 1: the generator fine-tuned on the NLI task's training pairs; its HF directory."""
        pairs = self.path("generator_pairs.jsonl")
        if not os.path.exists(pairs):
            train = read_split(self.nli_task, "train", self.nli_config().data.max_train_examples)
            write_examples(
                pairs, generator_pairs(train, self.nli_task.text_fields, self.nli_task.label_names, reversed_)
            )
        config = load_config(generator_spec)
        config.objective.name = "text_to_text"
        config.data.corpus_files = pairs
        workdir = self.path("generator")
        if not os.path.isdir(os.path.join(workdir, "hf")):
            train_and_evaluate(config, workdir, log=self.log)
        return self._export(config, workdir, head="lm")

    def synthesize(self, generator_dir: str, texts: list[str], samples: int, seed: int, top_k: int = TOP_K,
                   reversed_: bool = False) -> list[dict]:  # fmt: skip
        """Stage 2: <workdir>/synthetic.jsonl."""
        path = self.path("synthetic.jsonl")
        if not os.path.exists(path):
            import plmjax

            model, params = plmjax.from_pretrained(generator_dir, "lm")
            tokenizer = plmjax.load_tokenizer(generator_dir)
            rows = generate_nli_examples(model, params, tokenizer, texts, self.nli_task.label_names,
                                         self.nli_task.text_fields, samples=samples, seed=seed, top_k=top_k,
                                         reversed_=reversed_)  # fmt: skip
            write_examples(path, rows)
            self.log(f"{len(rows):,} synthetic NLI examples from {len(texts):,} texts")
        return _read_examples(path)

    def filter(self, synthetic: list[dict], threshold: float) -> str:
        """Stage 3: the NLI classifier and <workdir>/filtered.jsonl (the examples it agrees with)."""
        path = self.path("filtered.jsonl")
        if not os.path.exists(path):
            config, workdir = self.nli_config(), self.path("nli_classifier")
            train_and_evaluate(config, workdir, log=lambda *_: None)
            probs = pet.softmax(score_examples(config, workdir, synthetic)["scores"])
            keep = kept_by_classifier(probs, [e["label"] for e in synthetic], threshold)
            if not len(keep):
                raise ValueError(
                    f"the NLI classifier ({workdir}) gives none of the {len(synthetic):,} synthetic examples its "
                    f"label with probability >= {threshold}: lower --threshold, or check the generator's outputs "
                    f"in {self.path('synthetic.jsonl')}"
                )
            write_examples(path, [synthetic[i] for i in keep])
            self.log(f"the NLI classifier kept {len(keep):,} of {len(synthetic):,} synthetic examples")
        return path

    def auxiliary_model(self, filtered: str) -> str:
        """Stage 4: synthetic NLI, then real NLI; the encoder's HF directory."""
        synthetic = self.nli_config()
        synthetic.data.extra_train_files, synthetic.data.task_train = filtered, False
        first = self.path("auxiliary-synthetic")
        if not os.path.isdir(os.path.join(first, "hf")):
            train_and_evaluate(synthetic, first, log=lambda *_: None)
        first_hf = self._export(synthetic, first, head="keep")
        real = self.nli_config()
        real.model.name_or_path = first_hf
        second = self.path("auxiliary")
        if not os.path.isdir(os.path.join(second, "hf")):
            train_and_evaluate(real, second, log=lambda *_: None)
        return self._export(real, second, head=None)


def in_domain_texts(pipeline: Pipeline, limit: int = 0) -> list[str]:
    """Every text field of the target task's unlabeled examples, each text once, in order."""
    seen = {}
    for example in pipeline.unlabeled:
        for field in pipeline.task.text_fields:
            seen.setdefault(example[field], None)
    texts = list(seen)
    return texts[:limit] if limit else texts


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    rest, overrides = split_overrides(argv)
    p = argparse.ArgumentParser(prog="python -m plmjax.train.task_augmentation", description=__doc__.split("\n\n")[0])
    p.add_argument("--nli-config", required=True, help="a classification config of an NLI task")
    # --config.<key>=<value> overrides apply to the NLI runs and the target task's runs alike.
    p.add_argument("--generator-config", default="", help="a text_to_text config of the seq2seq model to train")
    p.add_argument("--generator", default="", help="an HF directory of an already fine-tuned NLI generator")
    p.add_argument("--target-config", required=True, help="configs/lmbff.py:task=...,seed=...")
    p.add_argument("--workdir", required=True)
    p.add_argument("--samples", type=int, default=3, help="outputs per text and label (STraTA: 100)")
    p.add_argument("--top-k", type=int, default=TOP_K)
    p.add_argument("--reversed", action="store_true", help="also generate premises from hypotheses")
    p.add_argument("--threshold", type=float, default=0.9, help="the NLI classifier's probability to keep")
    p.add_argument("--max-texts", type=int, default=0, help="use the first N in-domain texts (0: all)")
    p.add_argument("--unlabeled", default="", help="the target task's unlabeled file (default: the shared data's)")
    p.add_argument("--rounds", type=int, default=3, help="self-training rounds")
    p.add_argument("--confidence", type=float, default=0.0, help="self-training's pseudo-label threshold")
    args = p.parse_args(rest)
    if bool(args.generator) == bool(args.generator_config):
        p.error("give exactly one of --generator (a fine-tuned generator) or --generator-config (to train one)")
    augmentation = TaskAugmentation(args.nli_config, overrides, args.workdir)
    target = Pipeline(
        args.target_config, {}, os.path.join(args.workdir, "self-training"), unlabeled_file=args.unlabeled
    )
    generator = args.generator or augmentation.train_generator(args.generator_config, args.reversed)
    texts = in_domain_texts(target, args.max_texts)
    synthetic = augmentation.synthesize(generator, texts, args.samples, target.config().seed, args.top_k, args.reversed)
    auxiliary = augmentation.auxiliary_model(augmentation.filter(synthetic, args.threshold))
    target.overrides["model.name_or_path"] = auxiliary
    result = target.self_training(args.rounds, args.confidence)
    print(f"STraTA: auxiliary model {auxiliary}; test {json.dumps(result['test'])}")
    return result


if __name__ == "__main__":
    main()
