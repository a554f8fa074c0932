"""Sentence embeddings: plmjax against sentence-transformers on the same real weights, in one run.

1. Encoding throughput (sentences/s, batch 64) on STS-B dev's real sentences: plmjax.models.sentence_encoder
   against SentenceTransformer.encode, both from text (tokenisation included), both sorting by length,
   mean pooling and normalisation. Several rounds, interleaved; the median.
2. A SimCSE training step (batch 64 sentences x 2 views, 32 tokens, dropout on, AdamW) on the same weights:
   plmjax's SimCSE objective, jitted, against a PyTorch implementation of the same loss (transformers' model,
   SimCSE's MLP and cl_forward arithmetic, torch.optim.AdamW). Interleaved steps; the median.

    python benchmarks/sentence_speed.py                       # all-MiniLM-L6-v2 and all-mpnet-base-v2 (bundled)
    python benchmarks/sentence_speed.py --models=DIR          # another sentence-transformers directory
    python benchmarks/sentence_speed.py --rounds=1 --steps=2 --sentences=256   # smoke run

Results and the command that made them: docs/sentence.md.
"""

import argparse
import os
import statistics
import sys
import time

import jax
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_train_step import (  # noqa: E402
    ADAMW,
    Runner,
    cpu_count,
    matmul_rate_jax,
    matmul_rate_torch,
    prepare_process,
    time_interleaved,
)

import plmjax  # noqa: E402
from plmjax.models.sentence_encoder import encode_sentences  # noqa: E402
from plmjax.sentence import sts  # noqa: E402
from plmjax.sentence.simcse import MLP, SimCSE  # noqa: E402
from plmjax.train.cpu_threefry import unroll_threefry_on_cpu  # noqa: E402
from plmjax.train.distributed import split_cpu  # noqa: E402


def stsb_sentences(data_root: str, limit: int) -> list[str]:
    first, second, _ = sts.read_stsb(os.path.join(data_root, "stsb", "dev.tsv"))
    return (first + second)[:limit]


def time_encoding(path: str, sentences: list[str], rounds: int) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(path, device="cpu")
    model, params = plmjax.from_pretrained(path)
    tokenizer = plmjax.load_tokenizer(path)
    sides = {
        "plmjax": lambda: encode_sentences(model, params, tokenizer, sentences, batch_size=64),
        "sentence-transformers": lambda: reference.encode(sentences, batch_size=64, normalize_embeddings=True),
    }
    outputs = {name: fn() for name, fn in sides.items()}  # warm-up: compiles every length bucket
    gap = float(np.abs(outputs["plmjax"] - outputs["sentence-transformers"]).max())
    seconds = {name: [] for name in sides}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, fn in sides.items():
                start = time.perf_counter()
                fn()
                seconds[name].append(time.perf_counter() - start)
    return {name: len(sentences) / statistics.median(s) for name, s in seconds.items()} | {"max_diff": gap}


def simcse_batch(tokenizer, sentences: list[str], batch: int, length: int) -> dict:
    encoded = tokenizer(sentences[:batch], padding="max_length", truncation=True, max_length=length,
                        return_tensors="np")  # fmt: skip
    twice = lambda a: np.repeat(a[:, None, :], 2, axis=1).astype(np.int32)  # noqa: E731
    # MPNet's tokenizer gives no token_type_ids (its model has none).
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    return {k: twice(encoded[k]) for k in keys} | {"weights": np.ones(batch, np.float32)}


def plmjax_simcse_runner(path: str, batch: dict) -> Runner:
    """The jitted step over every JAX device: the batch's rows split along a data axis, the parameters
    replicated, the negatives from the global batch (the trainer's layout on a host of mesh.cpu_devices)."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    model, params = plmjax.from_pretrained(path)
    objective = SimCSE(model)
    params = objective.add_mlp_params(params, jax.random.key(0))
    optimizer = optax.adamw(**ADAMW)
    mesh = Mesh(np.asarray(jax.devices()), ("data",))
    rows, replicated = NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec())
    batch = jax.device_put(batch, rows)
    params = jax.device_put(params, replicated)

    def train_step(params, opt_state, batch, rng):
        loss, grads = jax.value_and_grad(objective.loss)(params, batch, rng, False)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    state, rng = [params, jax.device_put(optimizer.init(params), replicated)], [jax.random.key(1)]
    # The step's work, counted by XLA on one device (a data-parallel program repeats the optimizer's on each).
    one_device = jax.device_put(state, jax.devices()[0]) + [jax.device_put(batch, jax.devices()[0]), rng[0]]
    flops = jax.jit(train_step).lower(*one_device).compile().cost_analysis()["flops"]
    del one_device
    compiled = jax.jit(train_step, donate_argnums=(0, 1))

    def step():
        rng[0], key = jax.random.split(rng[0])
        state[0], state[1], loss = compiled(state[0], state[1], batch, key)
        jax.block_until_ready(loss)
        return float(loss)

    return Runner("plmjax SimCSE (jitted)", step, 0.0), params[MLP], flops


def torch_simcse_runner(path: str, batch: dict, mlp) -> Runner:
    """SimCSE's cl_forward in PyTorch: the encoder on [batch * 2, length], [CLS] through the MLP (dense + tanh),
    cosine / 0.05 between the two views, cross-entropy against the diagonal."""
    import torch
    import transformers

    torch.manual_seed(0)
    try:
        encoder = transformers.AutoModel.from_pretrained(path, attn_implementation="sdpa").train()
    except ValueError:  # MPNet has no sdpa attention in transformers: its own (eager) attention
        encoder = transformers.AutoModel.from_pretrained(path, attn_implementation="eager").train()
    dense = torch.nn.Linear(encoder.config.hidden_size, encoder.config.hidden_size)
    with torch.no_grad():
        dense.weight.copy_(torch.tensor(np.asarray(mlp["kernel"]).T))
        dense.bias.copy_(torch.tensor(np.asarray(mlp["bias"])))
    parameters = [*encoder.parameters(), *dense.parameters()]
    a = ADAMW
    optimizer = torch.optim.AdamW(parameters, lr=a["learning_rate"], betas=(a["b1"], a["b2"]), eps=a["eps"],
                                  weight_decay=a["weight_decay"])  # fmt: skip
    rows, views, length = batch["input_ids"].shape
    flat = {k: torch.as_tensor(v.reshape(rows * views, length), dtype=torch.long) for k, v in batch.items()
            if k != "weights"}  # fmt: skip
    labels = torch.arange(rows)

    def step():
        optimizer.zero_grad(set_to_none=True)
        cls = encoder(**flat).last_hidden_state[:, 0]
        z = torch.tanh(dense(cls)).view(rows, views, -1)
        similarity = torch.nn.functional.cosine_similarity(z[:, 0, None], z[None, :, 1], dim=-1) / 0.05
        loss = torch.nn.functional.cross_entropy(similarity, labels)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return Runner(f"PyTorch SimCSE (transformers, {encoder.config._attn_implementation})", step, 0.0)


def main(argv=None):
    from plmjax.data.pretraining.default_corpora import DATA_ROOT
    from plmjax.hf.bundled import resolve_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--models",
        default="all-MiniLM-L6-v2,all-mpnet-base-v2",
        help="comma-separated sentence-transformers directories, or the bundled encoders' names",
    )
    p.add_argument("--data", default=DATA_ROOT)
    p.add_argument("--sentences", type=int, default=3000, help="STS-B dev sentences encoded per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="timed SimCSE steps per side")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=32)
    p.add_argument(
        "--cpu-devices",
        type=int,
        default=cpu_count(),
        help="JAX CPU devices the SimCSE step is data parallel over (mesh.cpu_devices; 1: one device)",
    )
    p.add_argument("--malloc-defaults", action="store_true", help="glibc malloc's defaults for both sides")
    args = p.parse_args(argv)
    split_cpu(args.cpu_devices)
    threads = prepare_process(args)
    unroll_threefry_on_cpu()
    sentences = stsb_sentences(args.data, args.sentences)
    import torch

    print(f"{threads} threads, {jax.device_count()} JAX devices; jax {jax.__version__}, torch {torch.__version__}")
    peak = max(matmul_rate_jax(), matmul_rate_torch()) / 1e9
    print(f"float32 matmul peak (best square matmul of jnp.dot and torch): {peak:.1f} GFLOP/s")
    for name in args.models.split(","):
        path = resolve_model(name)
        print(f"\n## {name} ({path})")
        rates = time_encoding(path, sentences, args.rounds)
        print(f"encoding {len(sentences):,} STS-B dev sentences, batch 64, median of {args.rounds} rounds "
              f"(max |diff| of the embeddings {rates['max_diff']:.1e})")  # fmt: skip
        for side in ("plmjax", "sentence-transformers"):
            print(f"  {side:24s} {rates[side]:8.1f} sentences/s")
        ratio = rates["plmjax"] / rates["sentence-transformers"]
        print(f"  plmjax / sentence-transformers: {ratio:.2f}x (target >= 1.3x)")

        batch = simcse_batch(plmjax.load_tokenizer(path), sentences, args.batch, args.length)
        ours, mlp, flops = plmjax_simcse_runner(path, batch)
        runners = [ours, torch_simcse_runner(path, batch, mlp)]
        time_interleaved(runners, args.steps, warmup_rounds=2)
        steps = {r.label: statistics.median(r.seconds) for r in runners}
        print(f"SimCSE step, batch {args.batch} x 2 views x {args.length} tokens, median of {args.steps} steps; "
              f"{flops / 1e9:.1f} GFLOP a step (XLA's count of plmjax's compiled step)")  # fmt: skip
        for r in runners:
            rate = flops / steps[r.label] / 1e9
            print(f"  {r.label:38s} {steps[r.label]:7.3f} s/step  {rate:6.1f} GFLOP/s ({100 * rate / peak:.0f}% of "
                  f"the peak)  loss {r.loss:.4f}")  # fmt: skip
        ratio = steps[runners[1].label] / steps[runners[0].label]
        print(f"  PyTorch step / plmjax step: {ratio:.2f}x (target >= 1.2x)")


if __name__ == "__main__":
    main()
