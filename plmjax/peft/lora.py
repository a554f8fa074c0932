"""LoRA (Hu et al., 2021) as a plmjax.peft method: low-rank A B next to the kernels a regex picks.

The parameters live in plmjax.peft.dense.AdaptedDense (lora_a [in, rank], lora_b [rank, out]); merge.py
folds scale * A B into the kernel for inference and takes it out again.
"""

from plmjax.peft.method_spec import MethodSpec

# HF peft's default for BERT-like models: the query and value projections of self-attention.
DEFAULT_TARGETS = r".*/attention/(query|value)/kernel"


def config_changes(config, options) -> dict:
    return dict(
        lora_targets=options["targets"],
        lora_rank=int(options["rank"]),
        lora_alpha=float(options["alpha"]),
        lora_dropout=float(options["dropout"]),
        lora_rslora=bool(options["rslora"]),
    )


def delta(lora_a, lora_b, scale: float):
    """The kernel update scale * A B [in, out] a LoRA pair stands for."""
    return scale * (lora_a @ lora_b)


METHOD = MethodSpec(
    name="lora",
    summary="low-rank updates scale * A B on the kernels matching `targets` (B starts at zero)",
    # HF peft's defaults (r=8, lora_alpha=8, lora_dropout=0).
    defaults=dict(rank=8, alpha=8.0, dropout=0.0, targets=DEFAULT_TARGETS, rslora=False),
    config_changes=config_changes,
    trainable=lambda options: [r".*/lora_(a|b)"],
)
