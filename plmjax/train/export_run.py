"""A trained run as an HF model directory: the next stage's starting model (STraTA's auxiliary-task model,
a fine-tuned T5 generator, an intermediate task's model), or a result to load in transformers.

    export_run(config, workdir, out_dir)                 # the model with its head (BertForSequenceClassification)
    export_run(config, workdir, out_dir, head=None)      # the backbone only (BertModel): a new head comes next
    run_prompt(config, workdir)                          # a prompt-tuned run's learned soft prompt (SPoT)

    python -m plmjax.train.export_run --config=configs/x.py:... --workdir=W --out=DIR [--backbone] [--prompt]
"""

import argparse
import sys

import jax
import numpy as np
from flax import traverse_util

from plmjax.hf import load_tokenizer, save_pretrained
from plmjax.models.init import abstract_params
from plmjax.models.model_classes import build_model
from plmjax.sentence.simcse import SimCSE
from plmjax.train import run_setup
from plmjax.train.evaluate_run import restore, restored_params

KEEP_HEAD = "keep"


def export_run(config, workdir: str, out_dir: str, which: str = "best", head=KEEP_HEAD, tokenizer_path=None) -> int:
    """Writes the run's best (or latest, or initial) parameters to out_dir with the tokenizer of tokenizer_path
    (default: the model's directory); returns the exported step. head=None keeps only the backbone's tensors.
    A PEFT run is refused: its adapters are not merged into HF weights here."""
    if config.peft.method != "full":
        raise ValueError(f"export_run: peft.method={config.peft.method!r} runs keep their adapters apart")
    run, params, step = restored_params(config, workdir, which)
    if isinstance(run.setup.objective, SimCSE):
        params = run.setup.objective.backbone_params(params)
    model = run.setup.model
    if head != KEEP_HEAD:
        model = build_model(model.config, head=head)
        wanted = traverse_util.flatten_dict(abstract_params(model))
        flat = traverse_util.flatten_dict(params)
        params = traverse_util.unflatten_dict({path: flat[path] for path in wanted})
    save_pretrained(model, params, out_dir, tokenizer=load_tokenizer(tokenizer_path or config.model.name_or_path))
    return step


def run_prompt(config, workdir: str, which: str = "best"):
    """A prompt-tuned run's learned soft prompt [length, embed] (numpy), to start another run's prompt
    (peft.options.init = "saved", saved = a .npy of it: SPoT's prompt transfer)."""
    from plmjax.prompting.prompt_transfer import learned_prompt

    run = run_setup.prepare(config, workdir)
    try:
        state, _, _ = restore(run, which)
        return learned_prompt(jax.device_get(state.trainable))
    finally:
        run.checkpoints.close()


def main(argv=None) -> None:
    from plmjax.train.config_files import load_config, split_overrides

    rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m plmjax.train.export_run", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the run's config (and its --config.<key>=<value> overrides)")
    p.add_argument("--workdir", required=True)
    p.add_argument("--out", required=True, help="the HF directory to write (with --prompt: a .npy file)")
    p.add_argument("--which", default="best", choices=("best", "latest", "initial"))
    p.add_argument("--backbone", action="store_true", help="without the head (a new head comes next)")
    p.add_argument("--prompt", action="store_true", help="save the learned soft prompt instead")
    p.add_argument("--tokenizer", default=None, help="the tokenizer to save with it (default: the model's)")
    args = p.parse_args(rest)
    config = load_config(args.config, overrides)
    if args.prompt:
        np.save(args.out, run_prompt(config, args.workdir, args.which))
    else:
        head = None if args.backbone else KEEP_HEAD
        step = export_run(config, args.workdir, args.out, args.which, head, args.tokenizer)
        print(f"exported step {step} of {args.workdir} to {args.out}")


if __name__ == "__main__":
    main()
