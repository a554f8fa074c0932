"""A prompt-based fine-tuning step (LM-BFF: the MLM head at the mask, read on the label words) against a
standard classification step of the same model, and against the same prompt step in transformers (PyTorch), in
one run on one machine.

Each side runs forward + backward + AdamW on the same random batch (random init, float32, dropout on): plmjax's
prompt step through plmjax.prompting (the head's transform at the mask position only, a gather of the label
words' rows of the tied decoder), plmjax's classification step (the [CLS] pooler and a 2-way classifier), and
transformers' BertForMaskedLM the way LM-BFF's BertForPromptFinetuning computes it (the encoder, the MLM head on
the mask position's hidden state, the vocabulary logits there, the label words' columns).

    python benchmarks/prompt_step.py                          # BERT-base, batch 16, sequence 128
    python benchmarks/prompt_step.py --steps=2 --layers=2 --hidden=128 --heads=2 --seq=32   # smoke run

Results and the command that made them: docs/prompting.md.
"""

import os
import statistics
import sys

import jax
import numpy as np

from plmjax.models import EncoderModel, init_params
from plmjax.objectives.classification import example_losses
from plmjax.prompting import prompt_logits, prompt_loss
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
    torch_model,
)

LABEL_WORDS = (2307, 6659)  # "great", "terrible" in BERT's uncased vocabulary (any two ids time the same)


class TwoWords:
    """A verbalizer of two single-token words, one per class (the interface of plmjax.prompting.verbalizer that
    prompt_logits reads)."""

    word_ids = np.asarray(LABEL_WORDS, np.int32)

    @staticmethod
    def scores(own_params, outputs):
        return outputs.word_logits


def make_batch(vocab_size: int, batch: int, seq: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return dict(
        input_ids=rng.integers(1000, vocab_size, (batch, seq), dtype=np.int32),
        attention_mask=np.ones((batch, seq), np.int32),
        token_type_ids=np.zeros((batch, seq), np.int32),
        mask_positions=rng.integers(1, seq - 1, batch).astype(np.int32),
        labels=rng.integers(0, 2, batch).astype(np.int32),
    )


def plmjax_runner(config, batch: dict, prompt: bool) -> Runner:
    model = EncoderModel(config, head="mlm" if prompt else "classification", num_labels=2)

    def loss_fn(params, rng):
        rngs = {"dropout": rng}
        if prompt:
            return prompt_loss(prompt_logits(model, params, batch, TwoWords, False, rngs), batch["labels"])
        logits = model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
            deterministic=False,
            rngs=rngs,
        ).logits
        return example_losses(logits, batch["labels"], 2).mean()

    label = "plmjax, prompt (mask, label words)" if prompt else "plmjax, classification"
    return optax_runner(label, loss_fn, init_params(model, jax.random.key(0)))


def torch_runner(config, batch: dict) -> Runner:
    import torch

    torch.manual_seed(0)
    model = torch_model(config).train()
    optimizer = torch_adamw(model)
    inputs = {k: torch.as_tensor(batch[k], dtype=torch.long) for k in ("input_ids", "attention_mask", "token_type_ids")}
    rows = torch.arange(len(batch["labels"]))
    positions = torch.as_tensor(batch["mask_positions"], dtype=torch.long)
    words = torch.as_tensor(LABEL_WORDS, dtype=torch.long)
    labels = torch.as_tensor(batch["labels"], dtype=torch.long)

    def step():
        optimizer.zero_grad(set_to_none=True)
        hidden = model.bert(**inputs).last_hidden_state[rows, positions]  # LM-BFF: the mask position only
        logits = model.cls(hidden)[:, words]  # the vocabulary logits there, then the label words' columns
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return Runner("transformers, prompt (LM-BFF's way)", step, 0.0)


def main(argv=None):
    args = step_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    threads = prepare_process(args)
    unroll_threefry_on_cpu()
    config = config_from_args(args)
    batch = make_batch(config.vocab_size, args.batch, args.seq)
    print(
        f"{args.preset}: {config.num_layers} layers, hidden {config.hidden_size}; batch {args.batch} x seq {args.seq}; "
        f"{threads} threads; jax {jax.__version__}"
    )
    runners = [plmjax_runner(config, batch, prompt=True), plmjax_runner(config, batch, prompt=False)]
    if not args.skip_torch:
        runners.append(torch_runner(config, batch))
    time_interleaved(runners, args.steps, args.warmup_rounds)
    steps = {r.label: statistics.median(r.seconds) for r in runners}
    prompt, classification = steps[runners[0].label], steps[runners[1].label]
    print(f"\nmedian of {args.steps} timed steps after {args.warmup_rounds} warm-up rounds")
    for r in runners:
        times = " ".join(f"{t:.2f}" for t in r.seconds)
        print(f"{r.label:40s} {steps[r.label]:7.3f} s/step  loss {r.loss:.4f}  steps {times}")
    print(f"prompt / classification step time: {prompt / classification:.3f}x (target <= 1.10x)")
    if not args.skip_torch:
        print(
            f"transformers prompt step / plmjax prompt step: {steps[runners[2].label] / prompt:.2f}x (target >= 1.2x)"
        )


if __name__ == "__main__":
    main()
