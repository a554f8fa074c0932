"""The package layers of docs/design.md hold: a subpackage imports only itself and the layers below it, each
one imports alone in a fresh interpreter (in layer order), and no module-level imports form a cycle."""

import ast
import os
import subprocess
import sys

import pytest

from tests.train.runs import REPO

# Bottom to top; a subpackage may import its own modules and those of lower layers only.
LAYERS = [
    ("models",),
    ("hf", "generation", "objectives"),
    ("data", "peft"),
    # prompts are task data read through a masked LM; k-shot prompts through a causal LM; sentence embeddings;
    # per-layer exit heads and their criteria
    ("prompting", "in_context", "sentence", "early_exit"),
    # per-layer probes on frozen features, with the sentence encoders' batching and logistic regression
    ("probing",),
    ("assembly",),
    ("train",),
    ("main",),
    ("quickstart",),
]
ALLOWED = {
    name: {lower for layer in LAYERS[: depth + 1] for lower in layer} - (set(layer) - {name})
    for depth, layer in enumerate(LAYERS)
    for name in layer
}
PACKAGE = os.path.join(REPO, "plmjax")


def _modules() -> dict[str, str]:
    """{dotted module name: file} for every module of the package."""
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                name = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
                found[name] = path
    return found


MODULES = _modules()


def _imports(path: str, module: str, top_level_only: bool) -> set[str]:
    """The plmjax modules a file imports (each `from X import y` counts as X.y where that is a module)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    targets = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names if alias.name.startswith("plmjax")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plmjax"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                targets.add(candidate if candidate in MODULES else node.module)
    return {target for target in targets if target != "plmjax" and target != module}


def _subpackage(module: str) -> str:
    return module.split(".")[1]


def test_every_subpackage_has_a_layer():
    assert {_subpackage(m) for m in MODULES if m != "plmjax"} == set(ALLOWED)


def test_imports_go_down_the_layers_only():
    """Every import, at module level or inside a function, from a subpackage to one it may use."""
    wrong = []
    for module, path in MODULES.items():
        if module == "plmjax":
            continue
        for target in _imports(path, module, top_level_only=False):
            if _subpackage(target) not in ALLOWED[_subpackage(module)]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules():
    graph = {m: _imports(p, m, top_level_only=True) & set(MODULES) for m, p in MODULES.items()}
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("subpackage", [name for layer in LAYERS for name in layer])
def test_each_subpackage_imports_alone_and_loads_only_lower_layers(subpackage):
    code = (
        f"import sys, plmjax.{subpackage}\n"
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules if m.startswith('plmjax.')})))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(result.stdout.split())
    assert loaded <= ALLOWED[subpackage], f"plmjax.{subpackage} loaded {sorted(loaded - ALLOWED[subpackage])}"
