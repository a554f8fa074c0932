"""Checks shared by the interchange tests of every family: re-import after export, and edited checkpoints."""

import numpy as np
from flax import traverse_util
from safetensors.torch import load_file, save_file

import plmjax


def assert_reimport_is_exact(export_dir, model, params, head) -> None:
    """plmjax.from_pretrained of an exported directory gives the same model and bit-identical parameters."""
    model_again, params_again = plmjax.from_pretrained(str(export_dir), head=head)
    assert model_again == model
    flat, flat_again = traverse_util.flatten_dict(params), traverse_util.flatten_dict(params_again)
    assert flat.keys() == flat_again.keys()
    for path in flat:
        np.testing.assert_array_equal(np.asarray(flat[path]), np.asarray(flat_again[path]), err_msg=str(path))


def edited_copy(source, target, edit) -> str:
    """Copy an HF directory, applying edit(state_dict) to its tensors."""
    target.mkdir()
    (target / "config.json").write_text((source / "config.json").read_text())
    state = load_file(source / "model.safetensors")
    edit(state)
    save_file(state, target / "model.safetensors", metadata={"format": "pt"})
    return str(target)
