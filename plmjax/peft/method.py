"""The interface every PEFT method implements: what plmjax.peft needs to know about a method.

A method is one module under plmjax/peft/methods/ that defines `METHODS`, a tuple of MethodSpec. A spec says
how the method's options turn into the settings object the model carries (a MethodHooks subclass: the hooks
of plmjax.models.hooks, plus merging and folding), which parameters train, and what the rest of plmjax reads
from it: weight-decay exemptions, logical axes (for the sharding table), the names of the parameters only it
adds, the HF-PEFT form (if peft has the method), and the learning rate and options configs/glue.py uses.
plmjax.peft.methods collects the specs of every module there, so adding a method touches its own file only.
"""

import dataclasses
from collections.abc import Callable

# Parameters of freshly initialised task heads: they train with every method unless train_head=False
# (HF peft's modules_to_save for sequence classification does the same).
TASK_HEADS = r"(classifier|token_classifier|span_head|score|sentence_head|rtd_head)/.*"
# Every head, the pretrained ones (masked-LM, LM) included: what linear probing ("head_only") trains.
ALL_HEADS = r"(classifier|token_classifier|span_head|score|sentence_head|rtd_head|mlm_head|lm_head)/.*"
# Every normalisation layer's scale and bias (Houlsby et al. train them with the adapters).
NORMS = r"(.*/)?[a-z_]*norm/(scale|bias)"


@dataclasses.dataclass(frozen=True)
class HfPeftForm:
    """A method's HF-PEFT adapter format (adapter_config.json + adapter_model.safetensors).

    claims(config) -> bool: whether an adapter_config.json is this method's (peft_type, and e.g. use_dora).
    export(model, params) -> (config fields, {HF tensor name: array}, prompt_learning): tensor names without
    peft's "base_model.model." (or, for prompt learning, "base_model.") prefix.
    import_(model, config, tensors) -> (settings, {parameter path: array}, trainable regexes, consumed names).
    """

    claims: Callable
    export: Callable
    import_: Callable


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """name: as plmjax.peft.apply takes it. defaults: every option and its default.
    settings(model_config, options) -> the MethodHooks object the model carries (an instance of settings_class),
    or None for methods that only choose which existing parameters train (full, head_only, bitfit).
    trainable(options) -> regexes of the parameters the method trains.
    initialise(model, params, options, rng) -> params: optional, once the new parameters exist (prompt inits).
    param_names: leaf or module names only this method's parameters have (two methods that add the same names
    do not compose). no_decay: regexes of its parameters that get no weight decay. logical_axes: the axis names
    its parameters use (replicated: PEFT parameters are small). hf_peft: its HF-PEFT form, if peft has one.
    recipe: (peak learning rate, options) for fine-tuning a BERT-sized model (configs/glue.py's defaults).
    """

    name: str
    summary: str
    defaults: dict
    settings: Callable
    trainable: Callable
    settings_class: type | None = None
    initialise: Callable | None = None
    param_names: tuple[str, ...] = ()
    no_decay: tuple[str, ...] = ()
    logical_axes: tuple[str, ...] = ()
    hf_peft: HfPeftForm | None = None
    recipe: tuple[float, dict] = (5e-4, {})


def no_settings(config, options):
    return None
