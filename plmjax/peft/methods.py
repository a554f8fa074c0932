"""plmjax.peft.apply: turn PEFT methods on in a model, add their parameters, and say which parameters train.

    model, params, rules = plmjax.peft.apply("lora", model, params, rank=8, alpha=16, rng=rng)
    model, params, rules = plmjax.peft.apply(["lora", "prompt"], model, params, rank=8, length=20, rng=rng)

The returned model is the same class with config.peft set; params are the old ones (the same arrays, untouched)
plus the new subtrees initialised from rng; rules is the ordered (regex, label) list of plmjax.peft.rules that
labels every parameter trainable or frozen (plmjax.peft.mask(params, rules) is the trainable mask).
"""

import dataclasses
import functools

import flax.linen as nn
import jax
from flax import traverse_util

from plmjax.peft import adapter, ia3, lora, prefix, prompt_init
from plmjax.peft.method_spec import TASK_HEADS, MethodSpec, no_changes
from plmjax.peft.rules import FROZEN, TRAINABLE, match

FULL = MethodSpec("full", "every parameter trains (full fine-tuning)", {}, no_changes, lambda o: [".*"])
HEAD_ONLY = MethodSpec("head_only", "the task head only (linear probing)", {}, no_changes, lambda o: [])
BITFIT = MethodSpec("bitfit", "every bias (Ben Zaken et al., 2022)", {}, no_changes, lambda o: [r".*/bias"])

METHODS = {
    spec.name: spec
    for spec in (
        FULL,
        HEAD_ONLY,
        BITFIT,
        lora.METHOD,
        ia3.METHOD,
        adapter.HOULSBY,
        adapter.PFEIFFER,
        prefix.METHOD,
        prompt_init.PROMPT_TUNING,
        prompt_init.P_TUNING,
    )
}
# Options every method takes: train the task head too; a regex of further parameters that train.
COMMON_OPTIONS = dict(train_head=True, extra_trainable="")


def method_options(names: list[str], options: dict) -> tuple[dict, dict]:
    """({method: its options with defaults filled in}, common options).

    A plain option goes to every method that has it; an option named after a method (prompt=dict(length=5))
    goes to that method only, which composed methods sharing an option name (length) need.
    """
    per_method = {name: dict(METHODS[name].defaults) for name in names}
    common = dict(COMMON_OPTIONS)
    for key, value in options.items():
        if key in per_method:
            unknown = sorted(set(value) - set(per_method[key]))
            if unknown:
                raise TypeError(f"unknown {key} options {unknown}; {key} takes {sorted(per_method[key])}")
            per_method[key].update(value)
            continue
        if key in common:
            common[key] = value
            continue
        takers = [name for name in names if key in per_method[name]]
        if not takers:
            valid = sorted({k for name in names for k in per_method[name]} | set(common))
            raise TypeError(f"unknown option {key!r} for {names}; options: {valid}")
        if len(takers) > 1:
            raise TypeError(f"option {key!r} is ambiguous between {takers}; pass e.g. {takers[0]}=dict({key}=...)")
        per_method[takers[0]][key] = value
    return per_method, common


def build_rules(params, trainable_regexes: list[str], train_head: bool, extra_trainable: str = "") -> list:
    """The ordered rules: extra_trainable, the methods' parameters, the task head, then everything else frozen."""
    rules = [(extra_trainable, TRAINABLE)] if extra_trainable else []
    rules += [(regex, TRAINABLE) for regex in dict.fromkeys(trainable_regexes)]
    if train_head and ".*" not in trainable_regexes:
        # Only models with a task head get the rule: a rule matching nothing is an error in the engine.
        matched = match(params, [(TASK_HEADS, TRAINABLE), (".*", FROZEN)], allow_unused_rules=True)
        if any(index == 0 for index, _ in matched.values()):
            rules.append((TASK_HEADS, TRAINABLE))
    if ".*" not in trainable_regexes:
        rules.append((".*", FROZEN))
    match(params, rules)  # every rule must match a parameter: a method that found nothing to adapt is an error
    return rules


@functools.lru_cache(maxsize=32)
def abstract_params(model: nn.Module) -> dict:
    """{path tuple: ShapeDtypeStruct} of every parameter of model (models are hashable; cached)."""
    variables = jax.eval_shape(model.init, jax.random.key(0), model.dummy_inputs())
    return traverse_util.flatten_dict(nn.meta.unbox(variables["params"]))


def add_parameters(model: nn.Module, params, rng, values: dict | None = None):
    """params plus the parameters `model` has and params lacks; old arrays untouched.

    values: {path tuple: array} for some new parameters; the others are initialised from rng (compiling the
    initialisation only when some new parameter has no value).
    """
    abstract = abstract_params(model)
    flat = traverse_util.flatten_dict(params)
    old_paths = set(flat)
    lost = sorted("/".join(p) for p in flat if p not in abstract)
    if lost:
        raise ValueError(f"the adapted model no longer has these parameters: {lost[:10]}")
    reshaped = sorted("/".join(p) for p in flat if abstract[p].shape != flat[p].shape)
    if reshaped:
        raise ValueError(f"the adapted model changes the shapes of: {reshaped[:10]}")
    values = values or {}
    new_paths = [p for p in abstract if p not in flat and p not in values]

    @jax.jit
    def init_new(rng):
        # Only the new parameters leave the function: XLA drops the rest of the initialisation.
        fresh = traverse_util.flatten_dict(nn.meta.unbox(model.init(rng, model.dummy_inputs())["params"]))
        return {"/".join(p): fresh[p] for p in new_paths}

    fresh = init_new(rng) if new_paths else {}
    flat.update({p: fresh["/".join(p)] for p in new_paths})
    for path, value in values.items():
        if path not in abstract or path in old_paths:
            raise ValueError(f"{'/'.join(path)} is not a new parameter of the adapted model")
        if tuple(value.shape) != tuple(abstract[path].shape):
            raise ValueError(
                f"{'/'.join(path)}: the value has shape {tuple(value.shape)}, the model {tuple(abstract[path].shape)}"
            )
        flat[path] = jax.numpy.asarray(value, abstract[path].dtype)
    return traverse_util.unflatten_dict(flat)


@dataclasses.dataclass(frozen=True)
class MethodPlan:
    """What apply decides before touching parameters: the methods, their options, what trains.

    For callers that build the adapted model before its parameters exist (the trainer computes shardings from
    the adapted model's shapes): `adapt(method, model, **options)` gives (adapted model, plan);
    `plan.add_parameters(adapted, base_params, rng)` then adds the method parameters and `plan.rules(params)`
    gives the rules.
    """

    names: tuple[str, ...]
    options: dict  # method name -> its options, defaults filled in
    common: dict  # train_head, extra_trainable
    trainable: tuple[str, ...]  # regexes of the method parameters that train

    def add_parameters(self, model: nn.Module, params, rng: jax.Array):
        init_rng, method_rng = jax.random.split(rng)
        params = add_parameters(model, params, init_rng)
        for index, name in enumerate(self.names):
            if METHODS[name].initialise is not None:
                rng = jax.random.fold_in(method_rng, index)
                params = METHODS[name].initialise(model, params, self.options[name], rng)
        return params

    def rules(self, params) -> list:
        return build_rules(params, list(self.trainable), self.common["train_head"], self.common["extra_trainable"])


def method_names(method) -> list[str]:
    """A name, a list of names, or names joined by "+" ("lora+prompt", as configs write compositions)."""
    names = method.split("+") if isinstance(method, str) else list(method)
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown PEFT methods {unknown or names}; methods: {sorted(METHODS)}")
    return names


def adapt(method, model: nn.Module, **options) -> tuple[nn.Module, MethodPlan]:
    """(the model with the methods' modules on, the plan); parameters are not touched."""
    names = method_names(method)
    per_method, common = method_options(names, options)
    changes, regexes = {}, []
    for name in names:
        spec, spec_options = METHODS[name], per_method[name]
        new = spec.config_changes(model.config, spec_options)
        clash = sorted(set(new) & set(changes))
        if clash:
            raise ValueError(f"{name} sets {clash}, already set by another method in {names}: they do not compose")
        changes.update(new)
        regexes += spec.trainable(spec_options)
    peft_config = dataclasses.replace(model.config.peft, **changes)
    adapted = model.clone(config=model.config.replace(peft=peft_config))
    return adapted, MethodPlan(tuple(names), per_method, common, tuple(regexes))


def apply(method, model: nn.Module, params, rng: jax.Array | None = None, **options):
    """(adapted model, params, rules) for `method`: a name from METHODS or a list of names to compose.

    options: the methods' options (see METHODS[name].defaults), plus train_head (default True: a classifier
    initialised for the task trains too) and extra_trainable (a regex of further parameters that train).
    rng seeds the new parameters (default jax.random.key(0)).
    """
    adapted, plan = adapt(method, model, **options)
    params = plan.add_parameters(adapted, params, jax.random.key(0) if rng is None else rng)
    return adapted, params, plan.rules(params)
