"""BERT-base training steps: plmjax LoRA (r=8, query + value) vs plmjax full fine-tuning vs HF peft LoRA on
transformers (PyTorch), on the same machine in one run.

python benchmarks/peft_lora_vs_full.py --batch=16 --length=128 --steps=5

Each configuration runs in its own process (so each peak memory is its own): a BERT-base sequence classifier
(random weights: speed does not depend on them), AdamW, dropout on, random tokens; a few warm-up steps (plmjax
compiles then), then the median of `steps` timed steps. Reported: seconds per step, tokens per second, the
process's peak resident memory, and for plmjax the memory XLA plans for the step (arguments + temporaries).
The figures are in docs/peft.md.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGURATIONS = ("plmjax-full", "plmjax-lora", "peft-lora", "plmjax-lora-bf16")


def batch_arrays(batch: int, length: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(batch, length)).astype(np.int32)
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
        "labels": rng.integers(0, 2, size=(batch,)).astype(np.int32),
        "weights": np.ones((batch,), np.float32),
    }


def time_steps(run_step, warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        run_step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run_step()
        times.append(time.perf_counter() - start)
    return times


def run_plmjax(method: str, batch: int, length: int, warmup: int, steps: int, frozen_bf16: bool = False) -> dict:
    import jax
    import jax.numpy as jnp
    import optax

    import plmjax
    from plmjax import peft
    from plmjax.train import partition
    from plmjax.train.state import TrainState
    from plmjax.train.step import make_train_step

    model = plmjax.EncoderModel(plmjax.preset("bert-base"), head="classification", num_labels=2)
    params = plmjax.init_params(model, jax.random.key(0))
    if method == "lora":
        model, params, rules = peft.apply("lora", model, params, rank=8, alpha=16, rng=jax.random.key(1))
    else:
        rules = peft.selection_plan("full").rules(params)
    if frozen_bf16:  # storage only: the model still computes in float32
        params = peft.cast_frozen(params, rules, jnp.bfloat16)
    trainable, frozen = partition.split(params, peft.mask(params, rules))
    optimizer = optax.adamw(1e-4, weight_decay=0.01, mask=peft.decay_mask)
    state = TrainState(
        step=jnp.zeros((), jnp.int32),
        trainable=trainable,
        opt_state=optimizer.init(trainable),
        rng=jax.random.key_data(jax.random.key(2)),
    )
    data = {k: jnp.asarray(v) for k, v in batch_arrays(batch, length).items()}
    step = jax.jit(make_train_step(model, optimizer, num_labels=2), donate_argnums=0)
    compiled = step.lower(state, frozen, data).compile()
    memory = compiled.memory_analysis()
    planned = None
    if memory is not None:
        planned = memory.argument_size_in_bytes + memory.temp_size_in_bytes + memory.output_size_in_bytes
        planned -= memory.alias_size_in_bytes

    holder = {"state": state}

    def run_step():
        holder["state"], metrics = compiled(holder["state"], frozen, data)
        jax.block_until_ready(metrics)

    times = time_steps(run_step, warmup, steps)
    return {
        "trainable": partition.num_params(trainable),
        "total": partition.num_params(params),
        "times": times,
        "xla_planned_bytes": planned,
    }


def run_peft(batch: int, length: int, warmup: int, steps: int) -> dict:
    import peft as hf_peft
    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = transformers.BertForSequenceClassification(transformers.BertConfig(num_labels=2))
    model = hf_peft.get_peft_model(
        model, hf_peft.LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16, target_modules=["query", "value"])
    )
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.01)
    data = {k: torch.tensor(v).long() for k, v in batch_arrays(batch, length).items() if k != "weights"}

    def run_step():
        optimizer.zero_grad(set_to_none=True)
        loss = model(**data).loss
        loss.backward()
        optimizer.step()

    times = time_steps(run_step, warmup, steps)
    trainable, total = model.get_nb_trainable_parameters()
    return {"trainable": trainable, "total": total, "times": times, "xla_planned_bytes": None}


def worker(name: str, args) -> None:
    if not args.malloc_defaults:  # every configuration alike: freed host memory kept for reuse
        from plmjax.train.host_memory import keep_freed_host_memory

        keep_freed_host_memory()
    if not args.rolled_threefry:  # plmjax's dropout bits as `python -m plmjax.main` draws them on CPU
        from plmjax.train.cpu_threefry import unroll_threefry_on_cpu

        unroll_threefry_on_cpu()
    if name == "peft-lora":
        result = run_peft(args.batch, args.length, args.warmup, args.steps)
    else:
        method = name.split("-")[1]
        result = run_plmjax(method, args.batch, args.length, args.warmup, args.steps, name.endswith("-bf16"))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(result))


def summarise(results: dict, batch: int, length: int) -> str:
    tokens = batch * length
    lines = [
        "| configuration | trainable params | s / step (median) | tokens / s | peak RSS (GiB) | XLA plan (GiB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        seconds = statistics.median(r["times"])
        planned = f"{r['xla_planned_bytes'] / 2**30:.2f}" if r["xla_planned_bytes"] else "-"
        lines.append(
            f"| {name} | {r['trainable']:,} of {r['total']:,} | {seconds:.2f} | {tokens / seconds:,.0f} | "
            f"{r['peak_rss_bytes'] / 2**30:.2f} | {planned} |"
        )
    step = {name: statistics.median(r["times"]) for name, r in results.items()}
    full, lora = results["plmjax-full"], results["plmjax-lora"]
    lines.append("")
    lines.append(f"plmjax LoRA / full step time: {step['plmjax-lora'] / step['plmjax-full']:.2f}x (target <= 0.65x)")
    lines.append(
        f"plmjax LoRA / full peak RSS: {lora['peak_rss_bytes'] / full['peak_rss_bytes']:.2f}x (target <= 0.6x)"
    )
    if full["xla_planned_bytes"] and lora["xla_planned_bytes"]:
        ratio = lora["xla_planned_bytes"] / full["xla_planned_bytes"]
        lines.append(f"plmjax LoRA / full XLA-planned step memory: {ratio:.2f}x")
    lines.append(f"plmjax LoRA / peft LoRA tokens/s: {step['peft-lora'] / step['plmjax-lora']:.2f}x (target >= 2x)")
    if "plmjax-lora-bf16" in results:
        bf16_time = step["plmjax-lora-bf16"] / step["plmjax-full"]
        bf16_rss = results["plmjax-lora-bf16"]["peak_rss_bytes"] / full["peak_rss_bytes"]
        lines.append(
            f"plmjax LoRA, frozen weights in bfloat16 / full: step time {bf16_time:.2f}x, peak RSS {bf16_rss:.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--only", choices=CONFIGURATIONS, action="append", help="run some configurations only")
    parser.add_argument("--worker", choices=CONFIGURATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--malloc-defaults", action="store_true", help="keep glibc's malloc settings in every worker")
    parser.add_argument("--rolled-threefry", action="store_true", help="keep JAX's default (rolled) CPU dropout RNG")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args)
        return
    print(f"load average before: {os.getloadavg()}")
    results = {}
    for name in args.only or CONFIGURATIONS:
        command = [sys.executable, os.path.abspath(__file__), f"--worker={name}"]
        command += [f"--batch={args.batch}", f"--length={args.length}", f"--steps={args.steps}"]
        command += [f"--warmup={args.warmup}"] + (["--malloc-defaults"] if args.malloc_defaults else [])
        command += ["--rolled-threefry"] if args.rolled_threefry else []
        env = dict(os.environ, PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
        if output.returncode or not lines:
            raise RuntimeError(f"{name} failed:\n{output.stdout[-2000:]}\n{output.stderr[-4000:]}")
        results[name] = json.loads(lines[-1][len("RESULT ") :])
        print(f"{name}: {[round(t, 2) for t in results[name]['times']]} s/step", flush=True)
    print(f"load average after: {os.getloadavg()}")
    if {"plmjax-full", "plmjax-lora", "peft-lora"} <= set(results):
        print(summarise(results, args.batch, args.length))
    else:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
