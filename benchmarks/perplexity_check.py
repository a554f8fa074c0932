"""Perplexity of a tiny GPT-2 over WikiText-2 (validation), two ways: plmjax.sliding_window_perplexity, and a
direct transformers loop over the same windows on the weights plmjax exported. They must agree to 4
significant digits.

The model reads UTF-8 bytes (vocabulary 256, nothing to download) and is first trained briefly on Tiny
Shakespeare so that its predictions are peaked, as a real LM's are, rather than uniform.

    python benchmarks/perplexity_check.py            # full valid.txt, window 256, stride 128
    python benchmarks/perplexity_check.py --max-bytes=20000 --train-steps=20        # smoke run

Results and the command that made them: docs/generation.md.
"""

import argparse
import math
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import plmjax
from plmjax.models import build_model, init_params, preset

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def read_bytes(path: str, limit: int | None = None) -> np.ndarray:
    with open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data[:limit] if limit else data, np.uint8).astype(np.int32)


def train(model, params, tokens: np.ndarray, steps: int, batch: int, seq: int, seed: int = 0):
    """A few hundred Adam steps of next-byte prediction on random windows of `tokens`."""
    optimizer = optax.adam(3e-3)

    @jax.jit
    def step(params, opt_state, windows):
        def loss(p):
            logits = model.apply({"params": p}, windows).logits
            return optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], windows[:, 1:]).mean()

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    rng = np.random.default_rng(seed)
    opt_state, value = optimizer.init(params), float("nan")
    for _ in range(steps):
        starts = rng.integers(0, len(tokens) - seq, batch)
        windows = jnp.asarray(np.stack([tokens[s : s + seq] for s in starts]))
        params, opt_state, value = step(params, opt_state, windows)
    return params, float(value)


def transformers_perplexity(hf_model, tokens: np.ndarray, window: int, stride: int) -> tuple[float, int]:
    """One window at a time through transformers: labels mark the tokens this window scores (the ones the
    previous window did not), the mean loss times their number sums their NLL."""
    import torch

    total, count, previous_end = 0.0, 0, 0
    with torch.inference_mode():
        for begin in range(0, len(tokens), stride):
            end = min(begin + window, len(tokens))
            inputs = torch.as_tensor(tokens[begin:end], dtype=torch.long)[None]
            first = max(previous_end - begin, 1)
            labels = inputs.clone()
            labels[:, :first] = -100
            scored = end - begin - first
            total += hf_model(input_ids=inputs, labels=labels).loss.double().item() * scored
            count += scored
            previous_end = end
            if end == len(tokens):
                break
    return math.exp(total / count), count


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DATA)
    p.add_argument("--max-bytes", type=int, help="score only the first bytes of valid.txt (smoke runs)")
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument("--train-steps", type=int, default=300)
    args = p.parse_args(argv)
    import torch
    import transformers

    # Batch-1 windows of a tiny model: one thread, so that a busy machine's thread barriers cannot stall it.
    torch.set_num_threads(1)
    config = preset(
        "gpt2",
        vocab_size=256,
        num_layers=2,
        hidden_size=128,
        num_heads=4,
        intermediate_size=512,
        max_position_embeddings=args.window,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        embedding_dropout=0.0,
        bos_token_id=None,
        eos_token_id=None,
    )
    model = build_model(config, "lm")
    params = init_params(model, jax.random.key(0))
    shakespeare = read_bytes(os.path.join(args.data, "tinyshakespeare", "input.txt"))
    params, loss = train(model, params, shakespeare, args.train_steps, batch=16, seq=args.window)
    print(f"tiny GPT-2 (2 layers, hidden 128, bytes): {args.train_steps} training steps, last loss {loss:.3f}")

    tokens = read_bytes(os.path.join(args.data, "wikitext2", "valid.txt"), args.max_bytes)
    print(f"wikitext2/valid.txt: {len(tokens)} bytes; window {args.window}, stride {args.stride}")
    start = time.perf_counter()
    ours = plmjax.sliding_window_perplexity(model, params, tokens, window=args.window, stride=args.stride)
    print(
        f"plmjax.sliding_window_perplexity: {ours.perplexity:.6f} over {ours.num_tokens} tokens "
        f"({time.perf_counter() - start:.1f}s)"
    )

    with tempfile.TemporaryDirectory() as directory:
        plmjax.save_pretrained(model, params, directory)
        hf_model = transformers.GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager").eval()
    start = time.perf_counter()
    theirs, count = transformers_perplexity(hf_model, tokens, args.window, args.stride)
    print(f"transformers loop:                {theirs:.6f} over {count} tokens ({time.perf_counter() - start:.1f}s)")

    relative = abs(ours.perplexity - theirs) / theirs
    agree = f"{ours.perplexity:.4g}" == f"{theirs:.4g}" and count == ours.num_tokens
    print(
        f"relative difference {relative:.2e}; 4 significant digits: {ours.perplexity:.4g} vs {theirs:.4g} "
        f"-> {'agree' if agree else 'DISAGREE'}"
    )
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
