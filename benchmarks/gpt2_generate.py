"""GPT-2 small: generation and training-step throughput, plmjax vs transformers (PyTorch), one run, one machine.

Generation: a batch of left-padded prompts of different lengths, greedy, a fixed number of new tokens (EOS
disabled so both sides generate all of them), on the same random-init weights (plmjax exports them, transformers
loads the export). plmjax runs its jitted KV-cache decoding loop; transformers runs `model.generate()` with its
default dynamic cache and SDPA attention. Both time the whole call, after a warm-up call.

Training step: forward + backward + AdamW on a random causal-LM batch (dropout on), with MFU against the
measured float32 matmul rate, using the encoder benchmark's timing and peak-rate functions.

    python benchmarks/gpt2_generate.py                                   # GPT-2 small, 8 prompts, 128 new tokens
    python benchmarks/gpt2_generate.py --layers=2 --hidden=64 --heads=2 --new-tokens=8 --train-steps=1   # smoke

Results and the command that made them: docs/generation.md.
"""

import argparse
import os
import statistics
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_train_step import (  # noqa: E402
    ADAMW,
    Runner,
    add_shared_arguments,
    config_from_args,
    matmul_rate_jax,
    matmul_rate_torch,
    prepare_process,
    time_interleaved,
    torch_adamw,
)

import plmjax  # noqa: E402
from plmjax.data.pretraining import CausalLmCollator  # noqa: E402
from plmjax.models import TransformerConfig, build_model, init_params  # noqa: E402
from plmjax.objectives import CausalLM  # noqa: E402
from plmjax.train.cpu_threefry import unroll_threefry_on_cpu  # noqa: E402

# ------------------------------------------------------------------------------------------ generation


def make_prompts(vocab_size: int, batch: int, min_length: int, max_length: int, seed: int = 0):
    """Left-padded random prompts with lengths spread over [min_length, max_length]; (ids, mask) numpy."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(min_length, max_length, batch).round().astype(int)
    mask = (np.arange(max_length) >= max_length - lengths[:, None]).astype(np.int32)
    ids = np.where(mask == 1, rng.integers(0, vocab_size, (batch, max_length)), 0).astype(np.int32)
    return ids, mask


def alternate(runs: dict, rounds: int, warmup_rounds: int = 1) -> dict:
    """{label: seconds per call}: the encoder benchmark's interleaved timing over plain calls."""
    runners = [Runner(label, run, float("nan")) for label, run in runs.items()]
    time_interleaved(runners, rounds, warmup_rounds)
    return {runner.label: runner.seconds for runner in runners}


def plmjax_generate_call(model, params, ids, mask, new_tokens: int, out: list):
    def run():
        ids_out = plmjax.generate(model, params, ids, mask, max_new_tokens=new_tokens, eos_token_id=-1, pad_token_id=0)
        out.append(np.asarray(ids_out.block_until_ready()))

    return run


def torch_generate_call(hf_model, ids, mask, new_tokens: int, out: list):
    import torch

    inputs = dict(input_ids=torch.as_tensor(ids, dtype=torch.long), attention_mask=torch.as_tensor(mask))

    def run():
        with torch.inference_mode():
            out.append(hf_model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False).numpy())

    return run


def load_torch_copy(model, params, directory: str):
    """transformers GPT2LMHeadModel with plmjax's weights (through plmjax's export), EOS disabled."""
    import transformers

    plmjax.save_pretrained(model, params, directory)
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(directory, attn_implementation="sdpa").eval()
    hf_model.generation_config.eos_token_id = None
    hf_model.generation_config.pad_token_id = 0
    return hf_model


# -------------------------------------------------------------------------------------------- training


def train_flops(c: TransformerConfig, batch: int, seq: int) -> float:
    """Matmul FLOPs of one causal-LM training step: 3 x forward. Attention counts the full (unmasked) score
    matrix, as XLA and PyTorch compute it; elementwise work is not counted."""
    tokens = batch * seq
    layer_params = 4 * c.hidden_size * c.hidden_size + 2 * c.hidden_size * c.intermediate_size
    layers = 2 * tokens * c.num_layers * layer_params
    attention = 2 * tokens * c.num_layers * 2 * seq * c.hidden_size
    lm_head = 2 * tokens * c.hidden_size * c.vocab_size
    return 3.0 * (layers + attention + lm_head)


def make_lm_batch(vocab_size: int, batch: int, seq: int, seed: int = 0):
    return np.random.default_rng(seed).integers(0, vocab_size, (batch, seq), dtype=np.int32)


def plmjax_lm_batch(input_ids) -> dict:
    """The library's causal-LM batch for full rows: `target_ids` shifted left by one, the last position
    unweighted. The logits are never sliced: a [:, :-1] slice of GPT-2's [batch, 128, 50257] logits, and the
    pad its gradient needs, cost about 80 ms of a 4.7 s step."""
    return CausalLmCollator(max_length=input_ids.shape[1], pad_token_id=0)([{"input_ids": row} for row in input_ids])


def plmjax_lm_loss(objective: CausalLM, params, batch: dict, rng, deterministic: bool = False):
    """Mean next-token cross-entropy from the library's CausalLM objective: transformers' GPT2LMHeadModel loss
    with labels=input_ids."""
    losses, _ = objective.loss_and_metrics(params, batch, rng, deterministic=deterministic)
    total, count = losses["lm"]
    return total / count


def plmjax_train_call(model, params, input_ids, losses: list, deterministic: bool = False):
    """A compiled plmjax training step as a call that runs one step on its own state (a copy of params: the
    step donates its state)."""
    objective = CausalLM(model)
    optimizer = optax.adamw(**ADAMW)

    def step(params, opt_state, batch, rng):
        loss, grads = jax.value_and_grad(lambda p: plmjax_lm_loss(objective, p, batch, rng, deterministic))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    batch = {key: jnp.asarray(value) for key, value in plmjax_lm_batch(input_ids).items()}
    params = jax.tree.map(jnp.array, params)
    state = [params, optimizer.init(params), jax.random.key(1)]
    compiled = jax.jit(step, donate_argnums=(0, 1)).lower(state[0], state[1], batch, state[2]).compile()

    def one_step():
        state[2], key = jax.random.split(state[2])
        state[0], state[1], loss = compiled(state[0], state[1], batch, key)
        losses.append(float(loss.block_until_ready()))

    return one_step


def torch_train_call(hf_model, input_ids, losses: list):
    """transformers' training step on hf_model (in training mode: dropout on, unless its config turns it off)."""
    import torch

    hf_model.train()
    optimizer = torch_adamw(hf_model)
    inputs = torch.as_tensor(input_ids, dtype=torch.long)

    def one_step():
        optimizer.zero_grad(set_to_none=True)
        loss = hf_model(input_ids=inputs, labels=inputs).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    return one_step


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="gpt2")
    p.add_argument("--batch", type=int, default=8, help="prompts generated together")
    p.add_argument("--prompt-min", type=int, default=16)
    p.add_argument("--prompt-max", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--reps", type=int, default=3, help="timed generate() calls per side, after a warm-up call")
    p.add_argument("--train-batch", type=int, default=8)
    p.add_argument("--train-seq", type=int, default=128)
    p.add_argument("--train-steps", type=int, default=5, help="timed training steps per side (0 skips training)")
    add_shared_arguments(p)
    return p.parse_args(argv)


def report(seconds: dict, work: float, unit: str, extra=lambda label, median: ""):
    """One line per side: rate, ratio to the last side (transformers), median time, every timed call."""
    medians = {label: statistics.median(times) for label, times in seconds.items()}
    reference = list(medians.values())[-1] if len(medians) > 1 else None
    for label, median in medians.items():
        ratio = f"{reference / median:.2f}x" if reference else "-"
        calls = " ".join(f"{t:.2f}" for t in seconds[label])
        print(f"  {label:34s} {work / median:10.1f} {unit}  {ratio:>6s}  median {median:.3f}s {extra(label, median)}")
        print(f"  {'':34s} seconds per call: {calls}")


def compare_generation(args, model, params, hf_model) -> None:
    ids, mask = make_prompts(model.config.vocab_size, args.batch, args.prompt_min, args.prompt_max)
    print(f"\ngeneration: {args.batch} prompts of {args.prompt_min}-{args.prompt_max} tokens, {args.new_tokens} new")
    plm_ids, torch_ids = [], []
    runs = {"plmjax (KV cache, jitted loop)": plmjax_generate_call(model, params, ids, mask, args.new_tokens, plm_ids)}
    if hf_model is not None:
        runs["transformers generate()"] = torch_generate_call(hf_model, ids, mask, args.new_tokens, torch_ids)
    seconds = alternate(runs, args.reps)
    if torch_ids:
        same = np.mean(plm_ids[-1] == torch_ids[-1]) if plm_ids[-1].shape == torch_ids[-1].shape else float("nan")
        print(f"  identical token ids: {same:.1%} of {plm_ids[-1].size}")
    report(seconds, args.batch * args.new_tokens, "tokens/s")


def compare_training(args, model, params, hf_model) -> None:
    config = model.config
    input_ids = make_lm_batch(config.vocab_size, args.train_batch, args.train_seq)
    # Dropout's random bits as in bert_train_step.py: threefry lowered unrolled (same bits, ~9x faster).
    unrolled = unroll_threefry_on_cpu()
    peak = max(matmul_rate_jax(), matmul_rate_torch())
    flops = train_flops(config, args.train_batch, args.train_seq)
    print(f"\ntraining step: batch {args.train_batch} x seq {args.train_seq}, {flops / 1e9:.0f} GFLOP/step")
    print(f"  float32 matmul peak before the steps: {peak / 1e9:.1f} GFLOP/s")
    print(f"  threefry (dropout RNG) lowering on CPU: {'unrolled' if unrolled else 'JAX default (rolled loop)'}")
    losses = {"plmjax": [], "transformers (sdpa)": []}
    runs = {"plmjax": plmjax_train_call(model, params, input_ids, losses["plmjax"])}
    if hf_model is not None:
        runs["transformers (sdpa)"] = torch_train_call(hf_model, input_ids, losses["transformers (sdpa)"])
    seconds = alternate(runs, args.train_steps, args.warmup_rounds)
    # As in bert_train_step.py: measured again after the steps, the best is the machine's rate.
    peak = max(peak, matmul_rate_jax(), matmul_rate_torch())
    print(f"  float32 matmul peak, best of before and after the steps: {peak / 1e9:.1f} GFLOP/s")

    def mfu(label, median):
        return f"MFU {flops / median / peak:.1%}  loss {losses[label][-1]:.3f}"

    report(seconds, args.train_batch * args.train_seq, "tokens/s", mfu)


def main(argv=None):
    args = parse_args(argv)
    import torch

    threads = prepare_process(args)
    config = config_from_args(args)
    print(
        f"{args.preset}: {config.num_layers} layers, hidden {config.hidden_size}, vocab {config.vocab_size}; "
        f"{threads} threads; jax {jax.__version__} ({jax.default_backend()}), torch {torch.__version__}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    model = build_model(config, "lm")
    params = init_params(model, jax.random.key(0))
    with tempfile.TemporaryDirectory() as directory:
        # One transformers copy of plmjax's weights serves both comparisons, so both start from the same weights.
        hf_model = None if args.skip_torch else load_torch_copy(model, params, directory)
        compare_generation(args, model, params, hf_model)
        if args.train_steps:
            compare_training(args, model, params, hf_model)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
