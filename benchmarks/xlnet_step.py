"""An XLNet permutation-LM training step in plmjax against the same step in transformers (PyTorch), in one run
on one machine.

Both sides run forward + backward + AdamW on the same batch (random init, float32, dropout on): two-stream
attention over a random factorisation order (perm_mask) with the last 1/6 of each row's order as targets
(target_mapping), the LM head on the query stream's predictions only. plmjax's step is
plmjax.objectives.PermutationLM through one jitted, donated train step; transformers' is XLNetLMHeadModel with
labels.

    python benchmarks/xlnet_step.py                       # xlnet-base-cased, batch 8, sequence 128
    python benchmarks/xlnet_step.py --steps=2 --layers=2 --hidden=128 --heads=2 --seq=32   # smoke run

Results and the command that made them: docs/older_architectures.md.
"""

import os
import statistics
import sys

import jax
import numpy as np

from plmjax.data.pretraining.permutation import PermutationLmCollator
from plmjax.hf.families.xlnet import config_to_hf
from plmjax.models import build_model, init_params
from plmjax.objectives import PermutationLM
from plmjax.train.cpu_threefry import unroll_threefry_on_cpu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_train_step import (  # noqa: E402
    Runner,
    config_from_args,
    optax_runner,
    prepare_process,
    step_arguments,
    time_interleaved,
    torch_adamw,
)

PARTIAL_PREDICTION = 6


def make_batch(vocab_size: int, batch: int, seq: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    rows = [list(rng.integers(10, vocab_size, seq)) for _ in range(batch)]
    return PermutationLmCollator(seq, 0, PARTIAL_PREDICTION, batch_size=batch)(rows, rng)


def plmjax_runner(config, batch: dict) -> Runner:
    objective = PermutationLM(build_model(config, head="lm"))
    params = init_params(objective.model, jax.random.key(0))
    return optax_runner("plmjax, PermutationLM", lambda params, rng: objective.loss(params, batch, rng, False), params)


def torch_runner(config, batch: dict) -> Runner:
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.XLNetLMHeadModel(transformers.XLNetConfig(**config_to_hf(config))).train()
    optimizer = torch_adamw(model)
    keys = ("input_ids", "attention_mask", "perm_mask", "target_mapping")
    inputs = {k: torch.as_tensor(batch[k]) for k in keys}
    inputs["input_ids"] = inputs["input_ids"].long()
    labels = torch.as_tensor(np.where(batch["target_weights"] > 0, batch["target_ids"], -100), dtype=torch.long)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model(**inputs, labels=labels, use_mems=False).loss
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return Runner("transformers, XLNetLMHeadModel", step, 0.0)


def main(argv=None):
    parser = step_arguments(__doc__.split("\n\n")[0])
    parser.set_defaults(preset="xlnet-base-cased", batch=8)
    args = parser.parse_args(argv)
    threads = prepare_process(args)
    unroll_threefry_on_cpu()
    config = config_from_args(args)
    batch = make_batch(config.vocab_size, args.batch, args.seq)
    print(
        f"{args.preset}: {config.num_layers} layers, hidden {config.hidden_size}; batch {args.batch} x seq {args.seq}, "
        f"{batch['target_mapping'].shape[1]} predictions per row; {threads} threads; jax {jax.__version__}"
    )
    runners = [plmjax_runner(config, batch)]
    if not args.skip_torch:
        runners.append(torch_runner(config, batch))
    time_interleaved(runners, args.steps, args.warmup_rounds)
    steps = {r.label: statistics.median(r.seconds) for r in runners}
    print(f"\nmedian of {args.steps} timed steps after {args.warmup_rounds} warm-up rounds")
    for r in runners:
        times = " ".join(f"{t:.2f}" for t in r.seconds)
        print(f"{r.label:36s} {steps[r.label]:7.3f} s/step  loss {r.loss:.4f}  steps {times}")
    if not args.skip_torch:
        ratio = steps[runners[1].label] / steps[runners[0].label]
        print(f"transformers / plmjax step time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
