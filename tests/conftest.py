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
