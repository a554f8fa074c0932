"""IA3 (Liu et al., 2022) as a plmjax.peft method: learned vectors rescaling keys, values and the
feed-forward activation.

A vector scales a kernel's output (keys, values) or, for the feed-forward output projection, its input, which
is the activation. The vectors live in plmjax.peft.dense.AdaptedDense (ia3_scale, from ones).
"""

from plmjax.peft.method_spec import MethodSpec

# Keys and values of every attention (cross-attention included), and the feed-forward output projection.
DEFAULT_TARGETS = r".*/(attention|cross_attention)/(key|value)/kernel|.*/mlp/output/kernel"
# Of those, the kernels whose input is scaled: the feed-forward output projection reads the activation.
DEFAULT_INPUT_TARGETS = r".*/mlp/output/kernel"


def config_changes(config, options) -> dict:
    return dict(ia3_targets=options["targets"], ia3_input_targets=options["input_targets"])


METHOD = MethodSpec(
    name="ia3",
    summary="vectors scaling keys, values (kernel outputs) and the feed-forward activation (kernel input)",
    defaults=dict(targets=DEFAULT_TARGETS, input_targets=DEFAULT_INPUT_TARGETS),
    config_changes=config_changes,
    trainable=lambda options: [r".*/ia3_scale"],
)
