"""In-context scoring speed: k-shot prompts, each class's label words scored after them, plmjax vs transformers
(PyTorch) on the same GPT-2-small-sized random weights, one run, one machine.

Each call scores a batch of left-padded prompts (lengths spread over [--prompt-min, --prompt-max], as k-shot
prompts of different queries are) against --classes options of 1 to --option-max tokens:
- plmjax, prefix cache: `plmjax.in_context.option_scores(cache=True)`: the prompt read once, its key/value cache
  continued by every option;
- plmjax, full sequences: `cache=False`, every (prompt, option) run in full;
- transformers, prefix cache: the prompt through GPT2LMHeadModel with use_cache, the DynamicCache repeated per
  option (`batch_repeat_interleave`), the options' remaining tokens through it;
- transformers, full sequences: every (prompt, option) in one padded batch, log-softmax, gathered (what
  lm-evaluation-harness does).
Every side returns the same [prompts, classes] log-likelihoods (checked against each other before timing).

    python benchmarks/icl_scoring.py                         # GPT-2 small, 8 prompts of 200-320 tokens, 4 classes
    python benchmarks/icl_scoring.py --layers=2 --hidden=64 --heads=2 --vocab=128 --reps=1   # smoke

Results and the command that made them: docs/in_context.md.
"""

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_train_step import add_shared_arguments, config_from_args, prepare_process  # noqa: E402
from gpt2_generate import alternate, make_prompts  # noqa: E402

import plmjax  # noqa: E402
from plmjax.in_context import option_scores  # noqa: E402
from plmjax.models import build_model, init_params  # noqa: E402


def make_options(vocab_size: int, classes: int, longest: int, seed: int = 1):
    """(ids, mask) [classes, longest]: options of 1..longest tokens, right-padded."""
    rng = np.random.default_rng(seed)
    lengths = [1 + c % longest for c in range(classes)]
    ids, mask = np.zeros((classes, longest), np.int32), np.zeros((classes, longest), np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n], mask[row, :n] = rng.integers(0, vocab_size, n), 1
    return ids, mask


def plmjax_call(model, params, prompts, options, cache: bool, out: list):
    def run():
        out.append(np.asarray(option_scores(model, params, *prompts, *options, cache=cache)))

    return run


def torch_full_call(hf_model, prompts, options, out: list):
    import torch

    ids, mask = prompts
    option_ids, option_mask = options
    batch, classes, length = ids.shape[0], option_ids.shape[0], ids.shape[1]
    full_ids = torch.as_tensor(np.concatenate([np.repeat(ids, classes, 0), np.tile(option_ids, (batch, 1))], 1)).long()
    full_mask = torch.as_tensor(np.concatenate([np.repeat(mask, classes, 0), np.tile(option_mask, (batch, 1))], 1))
    positions = (full_mask.cumsum(-1) - 1).clamp(min=0)
    targets = torch.as_tensor(np.tile(option_ids, (batch, 1))).long()
    weights = torch.as_tensor(np.tile(option_mask, (batch, 1))).double()

    def run():
        with torch.inference_mode():
            logits = hf_model(input_ids=full_ids, attention_mask=full_mask, position_ids=positions).logits
            log_probs = torch.log_softmax(logits[:, length - 1 : -1].float(), -1)
            scores = log_probs.gather(-1, targets[..., None])[..., 0].double() * weights
        out.append(scores.sum(-1).reshape(batch, classes).numpy())

    return run


def torch_cached_call(hf_model, prompts, options, out: list):
    import torch

    ids, mask = prompts
    option_ids, option_mask = options
    batch, classes, longest = ids.shape[0], option_ids.shape[0], option_ids.shape[1]
    prompt_ids, prompt_mask = torch.as_tensor(ids).long(), torch.as_tensor(mask).long()
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    first_targets = torch.as_tensor(option_ids[:, 0]).long()
    rest_ids = torch.as_tensor(np.tile(option_ids[:, :-1], (batch, 1))).long()
    rest_targets = torch.as_tensor(np.tile(option_ids[:, 1:], (batch, 1))).long()
    rest_weights = torch.as_tensor(np.tile(option_mask[:, 1:], (batch, 1))).double()
    full_mask = torch.cat(
        [prompt_mask.repeat_interleave(classes, 0), torch.ones(batch * classes, longest - 1).long()], 1
    )
    rest_positions = prompt_mask.sum(-1).repeat_interleave(classes)[:, None] + torch.arange(longest - 1)[None, :]

    def run():
        with torch.inference_mode():
            out_prompt = hf_model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions,
                                  use_cache=True, logits_to_keep=1)  # fmt: skip
            first = torch.log_softmax(out_prompt.logits[:, -1].float(), -1)[:, first_targets].double()
            cache = out_prompt.cache
            cache.batch_repeat_interleave(classes)
            logits = hf_model(input_ids=rest_ids, attention_mask=full_mask, position_ids=rest_positions,
                              cache=cache).logits  # fmt: skip
            log_probs = torch.log_softmax(logits.float(), -1)
            rest = (log_probs.gather(-1, rest_targets[..., None])[..., 0].double() * rest_weights).sum(-1)
        out.append((first + rest.reshape(batch, classes)).numpy())

    return run


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="gpt2")
    p.add_argument("--batch", type=int, default=8, help="prompts scored together")
    p.add_argument("--prompt-min", type=int, default=200)
    p.add_argument("--prompt-max", type=int, default=320)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--option-max", type=int, default=3, help="options have 1 to this many tokens")
    p.add_argument("--reps", type=int, default=5, help="timed calls per side, after the warm-up rounds")
    add_shared_arguments(p)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    threads = prepare_process(args)
    import transformers

    config = config_from_args(args)
    model = build_model(config, head="lm")
    params = init_params(model, __import__("jax").random.key(0))
    prompts = make_prompts(config.vocab_size, args.batch, args.prompt_min, args.prompt_max)
    options = make_options(config.vocab_size, args.classes, args.option_max)
    with tempfile.TemporaryDirectory() as directory:
        plmjax.save_pretrained(model, params, directory)
        hf_model = transformers.GPT2LMHeadModel.from_pretrained(directory, attn_implementation="sdpa").eval()
    outputs = {label: [] for label in ("plmjax, prefix cache", "plmjax, full", "transformers, prefix cache",
                                       "transformers, full")}  # fmt: skip
    runs = {
        "plmjax, prefix cache": plmjax_call(model, params, prompts, options, True, outputs["plmjax, prefix cache"]),
        "plmjax, full": plmjax_call(model, params, prompts, options, False, outputs["plmjax, full"]),
        "transformers, prefix cache": torch_cached_call(
            hf_model, prompts, options, outputs["transformers, prefix cache"]
        ),
        "transformers, full": torch_full_call(hf_model, prompts, options, outputs["transformers, full"]),
    }  # fmt: skip
    for run in runs.values():
        run()
    reference = outputs["transformers, full"][-1]
    for label, values in outputs.items():
        difference = float(np.max(np.abs(values[-1] - reference)))
        print(f"{label}: max |diff| to transformers (full) {difference:.2e}")
        assert difference < 1e-3, label
    seconds = alternate(runs, args.reps, warmup_rounds=1)
    medians = {label: statistics.median(times) for label, times in seconds.items()}
    best_torch = min(medians["transformers, prefix cache"], medians["transformers, full"])
    print(f"{threads} threads; {args.batch} prompts of {args.prompt_min}-{args.prompt_max} tokens, "
          f"{args.classes} options of 1-{args.option_max} tokens; {config.num_layers} layers, hidden "
          f"{config.hidden_size}, vocabulary {config.vocab_size}")  # fmt: skip
    for label, median in medians.items():
        print(f"  {label:28s} {args.batch / median:8.2f} prompts/s  median {median:.3f} s  "
              f"vs the faster transformers side {best_torch / median:.2f}x")  # fmt: skip
    return {"medians": medians, "ratio": best_torch / medians["plmjax, prefix cache"]}


if __name__ == "__main__":
    main()
