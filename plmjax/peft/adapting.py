"""plmjax.peft.apply: turn PEFT methods on in a model, add their parameters, and say which parameters train.

    model, params, rules = plmjax.peft.apply("lora", model, params, rank=8, alpha=16, rng=rng)
    model, params, rules = plmjax.peft.apply(["lora", "prompt"], model, params, rank=8, length=20, rng=rng)

The returned model is the same class with config.peft set; params are the old ones (the same arrays, untouched)
plus the new subtrees initialised from rng; rules is the ordered (regex, label) list of plmjax.peft.rules that
labels every parameter trainable or frozen (plmjax.peft.mask(params, rules) is the trainable mask).
"""

import dataclasses

import flax.linen as nn
import jax
from flax import traverse_util

from plmjax.models.hooks import PeftConfig
from plmjax.peft.method import TASK_HEADS, no_settings
from plmjax.peft.methods import METHODS
from plmjax.peft.rules import FROZEN, TRAINABLE, match
from plmjax.peft.shapes import abstract_params

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
        # Only models with a task head not trained already get the rule: a rule that matches nothing (none
        # there, or all taken by an earlier rule) is an error in the engine.
        head = len(rules)
        matched = match(params, [*rules, (TASK_HEADS, TRAINABLE), (".*", FROZEN)], allow_unused_rules=True)
        if any(index == head for index, _ in matched.values()):
            rules.append((TASK_HEADS, TRAINABLE))
    if ".*" not in trainable_regexes:
        rules.append((".*", FROZEN))
    match(params, rules)  # every rule must match a parameter: a method that found nothing to adapt is an error
    return rules


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
        if model.config.peft.is_off and not any(METHODS[name].initialise for name in self.names):
            return params  # full, head_only, bitfit: nothing to add
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
    settings, regexes, taken = list(model.config.peft.methods), [], {}
    for name in names:
        spec, spec_options = METHODS[name], per_method[name]
        clash = sorted(taken.get(param_name) for param_name in spec.param_names if param_name in taken)
        if clash:
            raise ValueError(f"{name} adds the same parameters as {clash[0]}: they do not compose")
        taken.update(dict.fromkeys(spec.param_names, name))
        method_settings = spec.settings(model.config, spec_options)
        if method_settings is not None:
            settings.append(method_settings)
        regexes += spec.trainable(spec_options)
    adapted = model.clone(config=model.config.replace(peft=PeftConfig(tuple(settings))))
    return adapted, MethodPlan(tuple(names), per_method, common, tuple(regexes))


def selection_plan(method, **options) -> MethodPlan:
    """The plan of a method that only chooses which existing parameters train (full, head_only, bitfit), for
    parameter trees that are not one model's (the two models of ELECTRA or distillation)."""
    names = method_names(method)
    adding = [name for name in names if METHODS[name].settings is not no_settings]
    if adding:
        raise ValueError(f"{adding} add parameters to a model; here only full, head_only or bitfit apply")
    per_method, common = method_options(names, options)
    regexes = [regex for name in names for regex in METHODS[name].trainable(per_method[name])]
    return MethodPlan(tuple(names), per_method, common, tuple(regexes))


def apply(method, model: nn.Module, params, rng: jax.Array | None = None, **options):
    """(adapted model, params, rules) for `method`: a name from METHODS or a list of names to compose.

    options: the methods' options (see METHODS[name].defaults), plus train_head (default True: a classifier
    initialised for the task trains too) and extra_trainable (a regex of further parameters that train).
    rng seeds the new parameters (default jax.random.key(0)).
    """
    adapted, plan = adapt(method, model, **options)
    params = plan.add_parameters(adapted, params, jax.random.key(0) if rng is None else rng)
    return adapted, params, plan.rules(params)
