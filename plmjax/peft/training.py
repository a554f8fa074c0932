"""What training needs from the rule engine besides the trainable mask: the weight-decay mask, and frozen
weights stored in a lower precision."""

import jax
import jax.numpy as jnp

from plmjax.peft.rules import mask

# No weight decay on biases, norm scales, IA3 vectors, prefixes and soft prompts (decaying them pulls them
# towards 0, which for IA3 means switching units off); matrices decay (LoRA's A and B included).
DECAY_RULES = [
    (r".*/(bias|scale|ia3_scale|prefix_key|prefix_value)", "no_decay"),
    (r"soft_prompt/embedding|.*/prefix_encoder/embedding", "no_decay"),
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
