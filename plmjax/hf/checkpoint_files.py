"""Reading and writing HF weight files: safetensors preferred, pytorch_model.bin only through
torch.load(weights_only=True), never arbitrary pickle."""

import json
import os

import numpy as np

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH_BIN = "pytorch_model.bin"


def read_state_dict(directory: str) -> dict[str, np.ndarray]:
    """All tensors of an HF model directory as numpy arrays (bfloat16 stays bfloat16 via ml_dtypes)."""
    path = os.path.join(directory, SAFETENSORS)
    index = os.path.join(directory, SAFETENSORS_INDEX)
    if os.path.exists(path):
        return _read_safetensors(path)
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        tensors = {}
        for shard in shards:
            tensors.update(_read_safetensors(os.path.join(directory, shard)))
        return tensors
    if os.path.exists(os.path.join(directory, PYTORCH_BIN)):
        return _read_torch_bin(os.path.join(directory, PYTORCH_BIN))
    raise FileNotFoundError(f"{directory} has none of {SAFETENSORS}, {SAFETENSORS_INDEX}, {PYTORCH_BIN}")


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    # The flax reader understands bfloat16, which the numpy reader does not.
    with safe_open(path, framework="flax") as f:
        return {name: np.asarray(f.get_tensor(name)) for name in f.keys()}  # noqa: SIM118 (safe_open is not a dict)


def _read_torch_bin(path: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{path} is a PyTorch pickle; reading it needs torch (pip install torch), "
            "or convert the checkpoint to model.safetensors"
        ) from None
    state = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for name, tensor in state.items():
        if tensor.dtype == torch.bfloat16:
            import ml_dtypes

            out[name] = tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        else:
            out[name] = tensor.numpy()
    return out


def write_safetensors(tensors: dict[str, np.ndarray], directory: str) -> str:
    import jax.numpy as jnp
    from safetensors.flax import save_file

    path = os.path.join(directory, SAFETENSORS)
    # format=pt: transformers refuses safetensors files without a known format tag.
    save_file({k: jnp.asarray(v) for k, v in tensors.items()}, path, metadata={"format": "pt"})
    return path
