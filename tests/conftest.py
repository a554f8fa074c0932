"""Shared test set-up: every test runs on CPU in float32 with exact matmuls."""

import os
import shutil

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
    share_compilations(config)


def share_compilations(config):
    """One persistent compilation cache for the whole run, new for each run (nothing carries over between runs):
    the controller makes it and exports it, so xdist's workers, the children tests start and the notebooks'
    kernels read and write it. Many tests compile the same tiny programs (each pipeline stage, each training run
    of one config); a hit skips XLA's compile, which is most of a tiny model's test time (PET's pipeline test:
    148 s without, 84 s with it, from an empty cache). `JAX_COMPILATION_CACHE_DIR` set by the caller wins."""
    import tempfile

    if hasattr(config, "workerinput") or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return  # a worker (it inherited the controller's), or the caller chose a cache
    directory = tempfile.mkdtemp(prefix="plmjax-test-compilations-")
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
    os.environ.update(
        JAX_COMPILATION_CACHE_DIR=directory,
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    jax.config.update("jax_compilation_cache_dir", directory)  # this process imported jax before
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-notebooks"):
        return
    import pytest

    skip = pytest.mark.skip(reason="a notebook run: pass --run-notebooks")
    for item in items:
        if item.get_closest_marker("notebooks"):
            item.add_marker(skip)
