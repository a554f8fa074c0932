"""The file an adapter's trainable parameters are saved in (plmjax.peft.save), and reading it back."""

import os

from flax import traverse_util

TRAINABLE_FILE = "trainable.safetensors"


def read_trainable(directory: str) -> dict:
    """The saved trainable subtree as a nested dict of arrays."""
    from safetensors.flax import load_file

    tensors = load_file(os.path.join(directory, TRAINABLE_FILE))
    return traverse_util.unflatten_dict({tuple(name.split("/")): value for name, value in tensors.items()})
