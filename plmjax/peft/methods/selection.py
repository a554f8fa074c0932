"""The methods that add no parameters and only choose which existing ones train."""

from plmjax.peft.method import ALL_HEADS, MethodSpec, no_settings

METHODS = (
    MethodSpec(
        "full",
        "every parameter trains (full fine-tuning)",
        {},
        no_settings,
        lambda options: [".*"],
        recipe=(5e-5, {}),  # the top of BERT's GLUE grid: small models like MiniLM want it
    ),
    # Linear probing: the head trains (a pretrained masked-LM or LM head too), the backbone is frozen.
    MethodSpec(
        "head_only",
        "the head only (linear probing)",
        {},
        no_settings,
        lambda options: [ALL_HEADS],
        recipe=(1e-3, {}),  # as linear probes train
    ),
    MethodSpec(
        "bitfit",
        "every bias (Ben Zaken et al., 2022)",
        {},
        no_settings,
        lambda options: [r".*/bias"],
        # The GLUE runs of docs/peft.md trained the biases alone (the head's bias, not its kernel).
        recipe=(1e-3, dict(train_head=False)),
    ),
)
