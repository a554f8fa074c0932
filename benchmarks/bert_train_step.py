"""Training-step throughput of BERT masked-LM pretraining: plmjax vs transformers (PyTorch), one run, one machine.

Each side times forward + backward + AdamW on the same random batch (random init, float32, dropout on) and
reports tokens/s, their ratio, and model FLOPs utilisation (MFU): the FLOPs the step performs per second as a
fraction of the machine's float32 matmul rate, which this script measures itself (best of JAX and torch).

    python benchmarks/bert_train_step.py                      # BERT-base, batch 16, sequence 128
    python benchmarks/bert_train_step.py --steps=2 --layers=2 --hidden=128 --heads=2 --seq=32   # smoke run

Results and the command that made them: docs/benchmarks.md.
"""

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from plmjax.models import EncoderModel, TransformerConfig, init_params, preset
from plmjax.train.cpu_threefry import unroll_threefry_on_cpu
from plmjax.train.host_memory import keep_freed_host_memory

MASK_RATE = 0.15
ADAMW = dict(learning_rate=1e-4, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def make_batch(vocab_size: int, batch: int, seq: int, seed: int = 0) -> dict:
    """Random tokens with round(MASK_RATE * seq) labelled positions per sequence (BERT's masking budget).

    `labels` is the transformers form (-100 where unlabelled); `masked_positions`/`masked_labels` list the same
    labels by position, the form original BERT fed its MLM head (max_predictions_per_seq).
    """
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(0, vocab_size, (batch, seq), dtype=np.int32)
    predictions = max(1, round(MASK_RATE * seq))
    positions = np.sort(np.argsort(rng.random((batch, seq)), axis=1)[:, :predictions], axis=1).astype(np.int32)
    masked_labels = rng.integers(0, vocab_size, (batch, predictions), dtype=np.int32)
    labels = np.full((batch, seq), -100, np.int32)
    np.put_along_axis(labels, positions, masked_labels, axis=1)
    return dict(
        input_ids=input_ids,
        attention_mask=np.ones((batch, seq), np.int32),
        labels=labels,
        masked_positions=positions,
        masked_labels=masked_labels,
    )


# ---------------------------------------------------------------------------------------------- FLOPs


def train_flops(config: TransformerConfig, batch: int, seq: int, predictions: int | None = None) -> float:
    """Matmul FLOPs of one MLM training step: 3 x forward (the backward pass costs two forwards).

    predictions: vocabulary logits computed at this many positions per sequence (None: all of them).
    Elementwise work (softmax, GELU, norms, AdamW) is not counted, as is usual for MFU.
    """
    c = config
    tokens = batch * seq
    layer_params = 4 * c.hidden_size * c.hidden_size + 2 * c.hidden_size * c.intermediate_size
    encoder = 2 * tokens * c.num_layers * layer_params
    # Scores (q.k) and context (p.v): 2 * seq * hidden multiply-adds per token and layer.
    attention = 2 * tokens * c.num_layers * 2 * seq * c.hidden_size
    head_tokens = batch * (seq if predictions is None else predictions)
    mlm_head = 2 * head_tokens * (c.hidden_size * c.embed_size + c.embed_size * c.vocab_size)
    projection = 2 * tokens * c.embed_size * c.hidden_size if c.projects_embeddings else 0
    return 3.0 * (encoder + attention + mlm_head + projection)


def matmul_rate_jax(sizes=(1024, 2048, 4096), reps: int = 5) -> float:
    """Best float32 FLOP/s of jnp.dot over square sizes (best of `reps` at each)."""
    best = 0.0
    for n in sizes:
        a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
        b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
        dot = jax.jit(jnp.dot)
        seconds = min(time_calls(lambda a=a, b=b, dot=dot: dot(a, b).block_until_ready(), reps, warmup=1))
        best = max(best, 2 * n**3 / seconds)
    return best


def matmul_rate_torch(sizes=(1024, 2048, 4096), reps: int = 5) -> float:
    import torch

    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        seconds = min(time_calls(lambda a=a, b=b: a @ b, reps, warmup=1))
        best = max(best, 2 * n**3 / seconds)
    return best


def time_calls(fn, reps: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


# --------------------------------------------------------------------------------------------- plmjax


def plmjax_loss(model: EncoderModel, params, batch: dict, rng, deterministic: bool = False):
    """Mean cross-entropy over labelled positions; with `masked_positions` in the batch the MLM head runs only
    there (its logits are [batch, predictions, vocab]) and the labels are `masked_labels`."""
    masked_positions = batch.get("masked_positions")
    output = model.apply(
        {"params": params},
        batch["input_ids"],
        attention_mask=batch["attention_mask"],
        masked_positions=masked_positions,
        deterministic=deterministic,
        rngs=None if deterministic else {"dropout": rng},
    )
    labels = batch["labels"] if masked_positions is None else batch["masked_labels"]
    labelled = labels >= 0
    nll = optax.softmax_cross_entropy_with_integer_labels(output.logits, jnp.where(labelled, labels, 0))
    return jnp.sum(nll * labelled) / jnp.maximum(jnp.sum(labelled), 1)


def plmjax_train_step(model: EncoderModel, optimizer, deterministic: bool = False):
    """jit(step)(params, opt_state, batch, rng) -> (params, opt_state, loss); params and state are donated."""

    def step(params, opt_state, batch, rng):
        loss, grads = jax.value_and_grad(lambda p: plmjax_loss(model, p, batch, rng, deterministic))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(step, donate_argnums=(0, 1))


def plmjax_batch(batch: dict, masked: bool) -> dict:
    keys = ("input_ids", "attention_mask") + (("masked_positions", "masked_labels") if masked else ("labels",))
    return {k: jnp.asarray(batch[k]) for k in keys}


class Runner:
    """One side of the comparison: `step()` runs one training step to completion; `loss` is the last loss."""

    def __init__(self, label: str, step, flops: float):
        self.label, self._step, self.flops = label, step, flops
        self.seconds: list[float] = []
        self.loss = float("nan")

    def step(self) -> float:
        start = time.perf_counter()
        self.loss = self._step()
        return time.perf_counter() - start


def optax_runner(label: str, loss_fn, params) -> Runner:
    """A jitted AdamW step (ADAMW; parameters and optimizer state donated) of loss_fn(params, rng) -> scalar,
    from `params`, with a fresh dropout key every step."""
    optimizer = optax.adamw(**ADAMW)

    def train_step(params, opt_state, rng):
        loss, grads = jax.value_and_grad(loss_fn)(params, rng)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    train_step = jax.jit(train_step, donate_argnums=(0, 1))
    state, rng = [params, optimizer.init(params)], [jax.random.key(1)]

    def step():
        rng[0], key = jax.random.split(rng[0])
        state[0], state[1], loss = train_step(state[0], state[1], key)
        return float(loss)

    return Runner(label, step, 0.0)


def plmjax_runner(config: TransformerConfig, batch: dict, masked: bool) -> tuple[Runner, float]:
    """The plmjax side, compiled; also returns XLA's FLOP count for the compiled step."""
    model = EncoderModel(config, head="mlm")
    params = init_params(model, jax.random.key(0))
    optimizer = optax.adamw(**ADAMW)
    inputs = plmjax_batch(batch, masked)
    state = [params, optimizer.init(params)]
    rng = [jax.random.key(1)]
    compiled = plmjax_train_step(model, optimizer).lower(*state, inputs, rng[0]).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost  # a list in older jax

    def step():
        rng[0], key = jax.random.split(rng[0])
        state[0], state[1], loss = compiled(state[0], state[1], inputs, key)
        jax.block_until_ready((state, loss))
        return float(loss)

    label = "plmjax, logits at labelled positions" if masked else "plmjax, logits at all positions"
    predictions = batch["masked_positions"].shape[1] if masked else None
    flops = train_flops(config, *batch["input_ids"].shape, predictions)
    return Runner(label, step, flops), float(cost.get("flops", float("nan")))


# -------------------------------------------------------------------------------------------- PyTorch


def torch_model(config: TransformerConfig, hf_dir: str | None = None):
    """transformers.BertForMaskedLM with SDPA attention: random init from the config, or loaded from hf_dir."""
    import transformers

    if hf_dir is not None:
        return transformers.BertForMaskedLM.from_pretrained(hf_dir, attn_implementation="sdpa")
    hf_config = transformers.BertConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        intermediate_size=config.intermediate_size,
        hidden_act=config.hidden_act,
        hidden_dropout_prob=config.hidden_dropout,
        attention_probs_dropout_prob=config.attention_dropout,
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.layer_norm_eps,
    )
    return transformers.BertForMaskedLM._from_config(hf_config, attn_implementation="sdpa")


def torch_train_step(model, optimizer):
    """step(batch) -> loss tensor; model in training mode (dropout on)."""
    model.train()

    def step(batch):
        optimizer.zero_grad(set_to_none=True)
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def torch_batch(batch: dict) -> dict:
    import torch

    return {k: torch.as_tensor(batch[k], dtype=torch.long) for k in ("input_ids", "attention_mask", "labels")}


def torch_adamw(model):
    import torch

    a = ADAMW
    betas = (a["b1"], a["b2"])
    return torch.optim.AdamW(
        model.parameters(), lr=a["learning_rate"], betas=betas, eps=a["eps"], weight_decay=a["weight_decay"]
    )


def torch_runner(config: TransformerConfig, batch: dict) -> Runner:
    import torch

    torch.manual_seed(0)
    model = torch_model(config)
    train_step = torch_train_step(model, torch_adamw(model))
    inputs = torch_batch(batch)
    label = f"transformers ({model.config._attn_implementation}), all positions"
    return Runner(label, lambda: float(train_step(inputs)), train_flops(config, *batch["input_ids"].shape))


def time_interleaved(runners: list[Runner], steps: int, warmup_rounds: int = 1) -> None:
    """`warmup_rounds` untimed rounds, then `steps` timed ones; each round runs every side once, so that a
    change in the machine's background load while the script runs hits both sides alike."""
    for _ in range(warmup_rounds):
        for runner in runners:
            runner.step()
    for _ in range(steps):
        for runner in runners:
            runner.seconds.append(runner.step())


# ----------------------------------------------------------------------------------------------- main


def step_arguments(description: str) -> argparse.ArgumentParser:
    """The parser of an encoder training-step benchmark: the model preset, the batch, the timed steps, and the
    switches every benchmark against transformers shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--preset", default="bert-base")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--steps", type=int, default=5, help="timed steps per side, after the warm-up rounds")
    add_shared_arguments(p)
    return p


def parse_args(argv=None):
    p = step_arguments(__doc__.split("\n\n")[0])
    p.add_argument(
        "--mlm-logits",
        choices=("masked", "all", "both"),
        default="both",
        help="plmjax computes vocabulary logits at the labelled positions only, at all positions, or times both",
    )
    p.add_argument("--rolled-threefry", action="store_true", help="keep JAX's default (slow) CPU dropout RNG")
    return p.parse_args(argv)


def add_shared_arguments(p: argparse.ArgumentParser) -> None:
    """Model-size overrides and the switches of every benchmark against transformers (gpt2_generate.py too)."""
    p.add_argument("--layers", type=int, help="override num_layers (smoke runs)")
    p.add_argument("--hidden", type=int, help="override hidden_size; intermediate_size becomes 4x")
    p.add_argument("--heads", type=int, help="override num_heads")
    p.add_argument("--vocab", type=int, help="override vocab_size")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument(
        "--warmup-rounds",
        type=int,
        default=3,
        help="untimed training steps per side before the timed ones. The two sides share this process's heap, "
        "and its first interleaved steps still page memory in (about 0.4 s of page faults per step on GPT-2 small)",
    )
    p.add_argument(
        "--malloc-defaults", action="store_true", help="keep glibc's malloc settings (default: keep freed memory)"
    )


def config_from_args(args) -> TransformerConfig:
    overrides = {}
    if args.layers:
        overrides["num_layers"] = args.layers
    if args.hidden:
        overrides.update(hidden_size=args.hidden, intermediate_size=4 * args.hidden)
    if args.heads:
        overrides["num_heads"] = args.heads
    if args.vocab:
        overrides["vocab_size"] = args.vocab
    return preset(args.preset, **overrides)


def prepare_process(args) -> int:
    """The same allocator for both sides (they share this process) and torch on every core; the core count."""
    import torch

    kept = not args.malloc_defaults and keep_freed_host_memory()
    print(f"host memory: {'freed memory kept for reuse (both sides)' if kept else 'glibc malloc defaults'}")
    threads = cpu_count()
    torch.set_num_threads(threads)
    return threads


def main(argv=None):
    args = parse_args(argv)
    import torch

    threads = prepare_process(args)
    config = config_from_args(args)
    batch = make_batch(config.vocab_size, args.batch, args.seq)
    tokens = args.batch * args.seq
    predictions = batch["masked_positions"].shape[1]
    print(
        f"{args.preset}: {config.num_layers} layers, hidden {config.hidden_size}, vocab {config.vocab_size}; "
        f"batch {args.batch} x seq {args.seq}, {predictions} labelled positions per sequence; {threads} threads; "
        f"jax {jax.__version__} ({jax.default_backend()}), torch {torch.__version__}"
    )

    unrolled = not args.rolled_threefry and unroll_threefry_on_cpu()
    print(f"threefry (dropout RNG) lowering on CPU: {'unrolled' if unrolled else 'JAX default (rolled loop)'}")
    peak_jax, peak_torch = matmul_rate_jax(), matmul_rate_torch()

    runners = []
    for masked in {"masked": [True], "all": [False], "both": [True, False]}[args.mlm_logits]:
        runner, xla_flops = plmjax_runner(config, batch, masked)
        print(f"{runner.label}: {runner.flops / 1e9:.1f} GFLOP/step analytic, {xla_flops / 1e9:.1f} XLA cost analysis")
        runners.append(runner)
    if not args.skip_torch:
        runners.append(torch_runner(config, batch))
    time_interleaved(runners, args.steps, args.warmup_rounds)

    # Measured before and after the steps; the best is the machine's rate (background load only lowers it).
    peak_jax, peak_torch = max(peak_jax, matmul_rate_jax()), max(peak_torch, matmul_rate_torch())
    peak = max(peak_jax, peak_torch)
    print(f"float32 matmul rate: jax {peak_jax / 1e9:.1f} GFLOP/s, torch {peak_torch / 1e9:.1f} GFLOP/s")
    reference = None if args.skip_torch else tokens / statistics.median(runners[-1].seconds)
    print(
        f"\nmedian of {args.steps} timed steps after {args.warmup_rounds} warm-up rounds; "
        f"MFU against {peak / 1e9:.1f} GFLOP/s"
    )
    print(f"{'':38s} {'tokens/s':>9s} {'ratio':>6s} {'MFU':>6s} {'step s':>7s} {'GFLOP':>8s} {'loss':>6s}  steps s")
    for r in runners:
        step = statistics.median(r.seconds)
        ratio = f"{tokens / step / reference:5.2f}x" if reference else "     -"
        print(
            f"{r.label:38s} {tokens / step:9.1f} {ratio:>6s} {r.flops / step / peak:6.1%} {step:7.2f} "
            f"{r.flops / 1e9:8.1f} {r.loss:6.3f}  {' '.join(f'{t:.2f}' for t in r.seconds)}"
        )
    print(f"float32 matmul peak: {peak / 1e9:.1f} GFLOP/s (best of jax and torch over square matmuls)")


if __name__ == "__main__":
    main()
