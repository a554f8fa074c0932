"""Export the masked-LM head trained by configs/minilm_mlm_head.py as an HF directory and check it against
transformers: held-out masked-token accuracy, top-5 fill-ins of cloze sentences, and BertForMaskedLM's logits.

    python benchmarks/minilm_mlm_fill.py [--workdir /tmp/minilm_mlm_head] [--step N] [--out-dir DIR]

The run's checkpoint holds only what trained (the head, and the top encoder layers with unfreeze_top); the
frozen rest is all-MiniLM-L6-v2 itself (the checkpoint records its weights' sha256, checked here). The step is
--step, or else the checkpoint with the lowest held-out loss in the run's metrics.jsonl (the last one when none
was evaluated). The HF directory (config.json, model.safetensors, the tokenizer) goes to --out-dir (default
<workdir>/hf_mlm); transformers' BertForMaskedLM (PyTorch, CPU) loads it with nothing missing or unexpected, and
its top-5 fill-ins and its logits at [MASK] must equal plmjax's (max |diff| <= 1e-4) on the cloze sentences,
run as one padded batch.
"""

import argparse
import json
import os
import time
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

import plmjax
from plmjax.assembly.model import weights_sha256
from plmjax.data import pretraining as pt
from plmjax.objectives.mlm import mlm_targets
from plmjax.train.checkpoint import load_trainable
from plmjax.train.writers import read_metrics

CLOZE = (
    "The movie was [MASK].",
    "It was a [MASK] film.",
    "The food was [MASK] and the service was slow.",
    "A [MASK] day in the park.",
    "This is the best [MASK] I have ever read.",
)
TOLERANCE = 1e-4


def checkpoint_steps(workdir: str) -> list[int]:
    directory = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(directory):
        raise SystemExit(f"error: {workdir} has no checkpoints (run configs/minilm_mlm_head.py into it first)")
    return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def choose_step(workdir: str, step: int | None) -> tuple[int, dict | None]:
    """(the checkpoint step to export, its held-out metrics row or None)."""
    steps = checkpoint_steps(workdir)
    if not steps:
        raise SystemExit(f"error: {workdir}/checkpoints holds no finished checkpoint")
    validation = {row["step"]: row for row in read_metrics(workdir, "validation")}
    if step is None:
        scored = [s for s in steps if s in validation]
        step = min(scored, key=lambda s: validation[s]["loss"]) if scored else steps[-1]
    elif step not in steps:
        raise SystemExit(f"error: no checkpoint at step {step}; checkpoints: {steps}")
    return step, validation.get(step)


def load_model(workdir: str, step: int):
    """(model, params): all-MiniLM-L6-v2 with an mlm head, the run's trained parameters put in."""
    with open(os.path.join(workdir, "config.json")) as f:
        run_config = json.load(f)
    base = run_config["model"]["name_or_path"]
    with open(os.path.join(workdir, "checkpoints", str(step), "meta", "metadata")) as f:
        recorded = json.load(f)["base"]
    if recorded.get("sha256") != weights_sha256(base):
        raise SystemExit(f"error: the frozen weights at {base} are not the ones the run trained on ({recorded})")
    # The head is initialised fresh here (the checkpoint has none) and then replaced, every tensor of it.
    model, params = plmjax.from_pretrained(base, "mlm", rng=jax.random.key(0))
    flat = traverse_util.flatten_dict(params, sep="/")
    trained = traverse_util.flatten_dict(load_trainable(workdir, step), sep="/")
    for path, value in trained.items():
        if path not in flat or flat[path].shape != value.shape:
            raise SystemExit(f"error: checkpoint parameter {path} {value.shape} does not fit the model")
        flat[path] = value
    untrained_head = sorted(p for p in flat if p.startswith("mlm_head/") and p not in trained)
    if untrained_head:
        raise SystemExit(f"error: the checkpoint lacks head parameters {untrained_head}")
    print(f"loaded step {step} of {workdir}: {len(trained)} trained tensors on the frozen {base}")
    return model, traverse_util.unflatten_dict(flat, sep="/"), base


def mask_logits(logits: np.ndarray, input_ids: np.ndarray, mask_id: int) -> np.ndarray:
    rows, positions = np.nonzero(input_ids == mask_id)
    if not np.array_equal(rows, np.arange(len(input_ids))):
        raise ValueError("every cloze sentence needs exactly one [MASK]")
    return logits[rows, positions]


def top_k(logits: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(ids, probabilities) of the k most likely tokens of each row."""
    ids = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    return ids, np.take_along_axis(probs, ids, axis=-1)


def most_frequent_token_share(tokenizer, path: str) -> tuple[str, float]:
    """The held-out text's most frequent token and its share of the tokens (always predicting it scores that)."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    counts = Counter()
    special = set(tokenizer.all_special_ids)
    for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]:
        counts.update(i for i in ids if i not in special)
    token, count = counts.most_common(1)[0]
    return tokenizer.convert_ids_to_tokens(token), count / sum(counts.values())


def cloze_accuracy(model, params, tokenizer, run_config: dict, batch_size: int = 128) -> dict:
    """Held-out masked-token accuracy with every selected token replaced by [MASK] (the cloze case a prompt
    poses), where the run's evaluation keeps BERT's 80/10/10: 10% of the selected tokens stay themselves, which
    a head predicts by copying them. The held-out rows are the run's (sentences packed per document, the same
    masking unit and rate), masks seeded per row."""
    data, objective = run_config["data"], run_config["objective"]
    documents = pt.tokenize_documents(tokenizer, pt.read_documents(data["validation_files"], data["corpus_layout"]))
    segments = pt.pack_sentences(documents, data["max_length"] - 2)
    examples = [pt.join_segment(s, bos_id=tokenizer.cls_token_id, eos_id=tokenizer.sep_token_id) for s in segments]
    collate = pt.MlmCollator.from_tokenizer(
        tokenizer,
        data["max_length"],
        batch_size=batch_size,
        unit=objective["mask_unit"],
        mask_prob=objective["mask_prob"],
        mask_token_prob=1.0,
        random_token_prob=0.0,
    )
    max_predictions = objective["max_predictions"] or None

    @jax.jit
    def counts(batch):
        positions, labels, weights = mlm_targets(batch, max_predictions)
        logits = model.apply(
            {"params": params}, batch["input_ids"], batch["attention_mask"], masked_positions=positions
        ).logits
        top5 = jax.lax.top_k(logits, 5)[1]
        log_probs = jax.nn.log_softmax(logits)
        nll = -jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        return {
            "tokens": weights.sum(),
            "top1": ((top5[..., 0] == labels) * weights).sum(),
            "top5": ((top5 == labels[..., None]).any(-1) * weights).sum(),
            "nll": (nll * weights).sum(),
        }

    totals = Counter()
    for start in range(0, len(examples), batch_size):
        indices = range(start, min(start + batch_size, len(examples)))
        batch = collate([examples[i] for i in indices], pt.example_rngs(run_config["seed"], indices))
        for name, value in counts(
            {k: batch[k] for k in ("input_ids", "attention_mask", "mlm_labels", "mlm_weights", "weights")}
        ).items():
            totals[name] += float(value)
    tokens = totals["tokens"]
    return {"rows": len(examples), "tokens": int(tokens), **{k: totals[k] / tokens for k in ("top1", "top5", "nll")}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/minilm_mlm_head", help="the run of configs/minilm_mlm_head.py")
    parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: lowest held-out loss)")
    parser.add_argument("--out-dir", default=None, help="the HF directory to write (default <workdir>/hf_mlm)")
    args = parser.parse_args()
    jax.config.update("jax_default_matmul_precision", "highest")
    out_dir = args.out_dir or os.path.join(args.workdir, "hf_mlm")

    step, held_out = choose_step(args.workdir, args.step)
    print("held-out masked-token accuracy (metrics.jsonl):")
    for row in read_metrics(args.workdir, "validation"):
        print(f"  step {row['step']:>5}: loss {row['loss']:.4f}, accuracy {row['mlm_accuracy']:.4f}")
    if held_out is not None:
        print(f"exported step {step}: held-out loss {held_out['loss']:.4f}, accuracy {held_out['mlm_accuracy']:.4f}")
    model, params, base = load_model(args.workdir, step)
    tokenizer = plmjax.load_tokenizer(base)
    with open(os.path.join(args.workdir, "config.json")) as f:
        run_config = json.load(f)
    if os.path.isfile(run_config["data"]["validation_files"]):
        token, share = most_frequent_token_share(tokenizer, run_config["data"]["validation_files"])
        print(f"baseline: always predicting {token!r}, the held-out text's most frequent token, scores {share:.4f}")
        cloze = cloze_accuracy(model, params, tokenizer, run_config)
        print(
            f"held-out, every selected token [MASK]ed ({cloze['rows']:,} rows, {cloze['tokens']:,} tokens): "
            f"accuracy {cloze['top1']:.4f}, top-5 accuracy {cloze['top5']:.4f}, loss {cloze['nll']:.4f}"
        )
    else:
        print(f"(held-out file {run_config['data']['validation_files']} is gone: no cloze accuracy)")

    batch = tokenizer(list(CLOZE), padding=True, return_tensors="np")
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    out = model.apply({"params": params}, inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    ours = mask_logits(np.asarray(out.logits), inputs["input_ids"], tokenizer.mask_token_id)
    ids, probs = top_k(ours)

    start = time.perf_counter()
    plmjax.save_pretrained(model, params, out_dir, tokenizer=tokenizer)
    print(f"wrote {out_dir} in {time.perf_counter() - start:.1f} s: {sorted(os.listdir(out_dir))}")

    import torch
    import transformers

    hf_model, info = transformers.BertForMaskedLM.from_pretrained(out_dir, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"transformers loaded {out_dir} with {problems}"
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(out_dir)
    assert hf_tokenizer(list(CLOZE), padding=True)["input_ids"] == inputs["input_ids"].tolist()
    hf_model.eval()
    with torch.no_grad():
        hf_logits = hf_model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    theirs = mask_logits(hf_logits, inputs["input_ids"], tokenizer.mask_token_id)
    hf_ids, _ = top_k(theirs)
    real = inputs["attention_mask"].astype(bool)
    diff_mask = float(np.max(np.abs(ours - theirs)))
    diff_all = float(np.max(np.abs(np.asarray(out.logits)[real] - hf_logits[real])))

    print("\n| sentence | top-5 fill-ins (plmjax; probability) | transformers' top 5 |")
    print("|---|---|---|")
    for sentence, row_ids, row_probs, row_hf in zip(CLOZE, ids, probs, hf_ids, strict=True):
        tokens = tokenizer.convert_ids_to_tokens(row_ids)
        words = ", ".join(f"{t} {p:.2f}" for t, p in zip(tokens, row_probs, strict=True))
        same = "same" if np.array_equal(row_ids, row_hf) else ", ".join(tokenizer.convert_ids_to_tokens(row_hf))
        print(f"| {sentence} | {words} | {same} |")
    print(
        f"\ntransformers BertForMaskedLM vs plmjax, {len(CLOZE)} sentences in one padded batch of "
        f"{inputs['input_ids'].shape[1]} tokens: max |diff| of the logits at [MASK] {diff_mask:.2e}, at every real "
        f"token {diff_all:.2e} (tolerance {TOLERANCE:g}); top-5 equal: {np.array_equal(ids, hf_ids)}"
    )
    assert np.array_equal(ids, hf_ids), "transformers' top-5 fill-ins differ from plmjax's"
    assert diff_mask <= TOLERANCE, f"logits at [MASK] differ by {diff_mask:.2e} > {TOLERANCE:g}"


if __name__ == "__main__":
    main()
