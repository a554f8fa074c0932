"""What training needs from the rule engine besides the trainable mask: the weight-decay mask, and frozen
weights stored in a lower precision."""

import jax
import jax.numpy as jnp

from plmjax.peft.methods import METHODS
from plmjax.peft.rules import mask

# No weight decay on biases and norm scales, nor on the method parameters each method exempts (IA3 vectors,
# DoRA magnitudes, prefixes, soft prompts: decaying a scale pulls it towards 0, which switches units off);
# matrices decay (LoRA's A and B included).
DECAY_RULES = [
    (r".*/(bias|scale)", "no_decay"),
    *((regex, "no_decay") for spec in METHODS.values() for regex in spec.no_decay),
    (".*", "decay"),
]


def decay_mask(params):
    """Boolean pytree like params (e.g. the trainable partition): True where weight decay applies.
    Fits the weight_decay_mask argument of optax.adamw and of plmjax.train.optimizer.make_optimizer."""
    return mask(params, DECAY_RULES, true_label="decay", allow_unused_rules=True)


def cast_frozen(params, rules, dtype=jnp.bfloat16):
    """params with the frozen floating-point parameters stored in dtype; trainable ones keep theirs.

    Halves the memory of a frozen backbone; the models compute in their config.dtype whatever the storage.
    """
    trainable = mask(params, rules)

    def cast(value, trains):
        return value if trains or not jnp.issubdtype(value.dtype, jnp.floating) else value.astype(dtype)

    return jax.tree.map(cast, params, trainable)
