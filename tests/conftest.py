"""Shared test set-up: every test runs on CPU in float32 with exact matmuls."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

SHARED_DATA = os.environ.get(
    "PLMJAX_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)


def pytest_addoption(parser):
    parser.addoption(
        "--run-notebooks",
        action="store_true",
        help="also execute the Colab notebooks in colabs/ (tests marked `notebooks`; .ci/run turns it on)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks: executes a notebook of colabs/ (needs --run-notebooks)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-notebooks"):
        return
    import pytest

    skip = pytest.mark.skip(reason="a notebook run: pass --run-notebooks")
    for item in items:
        if item.get_closest_marker("notebooks"):
            item.add_marker(skip)
