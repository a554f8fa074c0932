"""The benchmark scripts are files, not package modules: each test module names its script in SCRIPT."""

import importlib.util

import pytest


@pytest.fixture(scope="module")
def bench(request):
    """The test module's benchmark script (its SCRIPT path), imported as a module."""
    script = request.module.SCRIPT
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
