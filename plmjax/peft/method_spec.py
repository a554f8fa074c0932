"""What a PEFT method is to plmjax.peft.apply: options, the PeftConfig fields it sets, the parameters it trains."""

import dataclasses
from collections.abc import Callable

# Parameters of freshly initialised task heads: they train with every method unless train_head=False
# (HF peft's modules_to_save for sequence classification does the same).
TASK_HEADS = r"(classifier|token_classifier|span_head|score|sentence_head|rtd_head)/.*"
# Every normalisation layer's scale and bias (Houlsby et al. train them with the adapters).
NORMS = r"(.*/)?[a-z_]*norm/(scale|bias)"


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """name: as apply() takes it. defaults: every option and its default value.
    config_changes(model_config, options) -> {PeftConfig field: value}.
    trainable(options) -> regexes of the parameters the method trains.
    initialise(model, params, options, rng) -> params: optional, after the new parameters exist (prompt inits).
    """

    name: str
    summary: str
    defaults: dict
    config_changes: Callable
    trainable: Callable
    initialise: Callable | None = None


def no_changes(config, options) -> dict:
    return {}


# Parameters only PEFT methods add: their leaf names, and the module names holding nothing else.
METHOD_LEAVES = ("lora_a", "lora_b", "ia3_scale", "prefix_key", "prefix_value")
METHOD_MODULES = ("soft_prompt", "prefix_encoder", "attention_adapter", "mlp_adapter")


def is_method_param(path: tuple[str, ...]) -> bool:
    """Whether a parameter belongs to a PEFT method rather than to the base model."""
    return path[-1] in METHOD_LEAVES or any(name in METHOD_MODULES for name in path)
