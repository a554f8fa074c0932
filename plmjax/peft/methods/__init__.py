"""Every PEFT method, one module each: a module here that defines METHODS (a tuple of MethodSpec) is a method.

METHODS maps each method's name to its spec, collected from the modules of this package in name order (the
parameter-selecting methods of selection.py first), so a new method is a new file here and nothing else.
"""

import importlib
import pkgutil

from plmjax.peft.method import MethodSpec


def _collect() -> dict[str, MethodSpec]:
    modules = sorted(info.name for info in pkgutil.iter_modules(__path__))
    modules.sort(key=lambda name: name != "selection")
    specs = {}
    for module_name in modules:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for spec in getattr(module, "METHODS", ()):
            if spec.name in specs:
                raise ValueError(f"two PEFT methods are called {spec.name!r}")
            specs[spec.name] = spec
    return specs


METHODS: dict[str, MethodSpec] = _collect()
# Settings class name (what a model's config.peft holds) -> class, for reading saved adapters.
SETTINGS_CLASSES = {spec.settings_class.name: spec.settings_class for spec in METHODS.values() if spec.settings_class}
# Leaf and module names only method parameters have.
METHOD_PARAM_NAMES = frozenset(name for spec in METHODS.values() for name in spec.param_names)


def is_method_param(path: tuple[str, ...]) -> bool:
    """Whether a parameter belongs to a PEFT method rather than to the base model."""
    return any(name in METHOD_PARAM_NAMES for name in path)
