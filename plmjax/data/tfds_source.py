"""The tensorflow-datasets catalog (`glue/rte`, `super_glue/boolq`, `imdb_reviews`, `c4/en`, ...) without TensorFlow.

`tfds.load` returns a `tf.data.Dataset` and needs TensorFlow. `tfds.data_source` does not: it prepares a dataset
in the ArrayRecord file format (pure Python writer) and reads it by random access, so plmjax always asks for
`file_format="array_record"`. A dataset prepared earlier in the default TFRecord format can only be read with
TensorFlow; the error says so and how to convert it. `tfds.testing.mock_data` mocks this path (tests).
"""

import importlib.util
import os
import socket
import types
from collections.abc import Iterator, Sequence

import numpy as np

from plmjax.data.errors import DataError


def _import_catalog():
    """Imports tfds and registers the builders plmjax uses; returns the `tfds` module.

    tfds registers its legacy text builders (glue, super_glue, c4, wikipedia) only when
    `tensorflow_datasets.text` is imported, which its lazy top-level import does not do without TensorFlow.
    """
    import tensorflow_datasets as tfds
    import tensorflow_datasets.text  # noqa: F401  (registers the builders)

    if importlib.util.find_spec("tensorflow") is None:
        _let_super_glue_build_without_tensorflow()
    return tfds


def _let_super_glue_build_without_tensorflow():
    """super_glue's feature spec names `tf.int32` for its `idx` fields: the only TensorFlow use on its read and
    prepare path. The numpy dtype means the same thing to tfds, so give the module that one name."""
    from tensorflow_datasets.text import super_glue

    if not isinstance(super_glue.tf, types.SimpleNamespace):
        super_glue.tf = types.SimpleNamespace(int32=np.int32)


def _to_python(value):
    """tfds examples hold bytes and numpy scalars; plmjax examples hold str, int, float, lists and dicts."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict):
        return {key: _to_python(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _to_python(value.item())
        return [_to_python(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


class TfdsExamples(Sequence):
    """A random-access view of one tfds split (or of one process's shard of it), decoded to Python values."""

    def __init__(self, data_source, name: str, split: str, indices: range):
        self._source = data_source
        self.name = name
        self.split = split
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, position: int) -> dict:
        if isinstance(position, slice):
            raise TypeError("TfdsExamples takes one integer position at a time")
        return _to_python(self._source[self._indices[position]])

    def __iter__(self) -> Iterator[dict]:
        # One record at a time: batched reads (`__getitems__`) are hardly faster here (decoding dominates) and
        # tfds.testing.mock_data's stand-in for them is broken in tfds 4.9.
        for index in self._indices:
            yield _to_python(self._source[index])

    def __repr__(self) -> str:
        return f"TfdsExamples({self.name!r}, split={self.split!r}, {len(self)} examples)"


def tfds_source(
    name: str,
    split: str,
    *,
    data_dir: str | None = None,
    download: bool = True,
    process_index: int = 0,
    process_count: int = 1,
) -> TfdsExamples:
    """A tfds catalog split as a sequence of Python dicts; with `process_count > 1`, only this process's shard.

    The shard is every `process_count`-th example starting at `process_index`, so the shards are disjoint, cover
    the split and differ in size by at most one. `download=True` downloads and prepares the dataset into
    `data_dir` (tfds' default `~/tensorflow_datasets` when None) on first use; without network that is a
    DataError at once.
    """
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index {process_index} is not in [0, {process_count})")
    tfds = _import_catalog()
    if download:
        _check_can_prepare(tfds, name, data_dir)
    try:
        source = tfds.data_source(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            builder_kwargs={"file_format": "array_record"},
        )
    except OSError as error:  # requests' ConnectionError and other network or file failures while preparing
        raise DataError(f"tfds could not prepare {name!r}: {type(error).__name__}: {_first_line(error)}") from error
    except NotImplementedError as error:
        raise DataError(
            f"tfds dataset {name!r} is prepared in a format that needs TensorFlow to read. Convert it with "
            f"`tfds convert_format --dataset_dir=... --out_file_format=array_record`, or prepare it again in "
            f"another data_dir (plmjax prepares in ArrayRecord). tfds said: {error}"
        ) from error
    except (ValueError, KeyError) as error:
        if "split" in str(error).lower():
            raise DataError(f"tfds dataset {name!r} has no split {split!r}: {error}") from error
        raise
    return TfdsExamples(source, name, split, range(process_index, len(source), process_count))


# tfds fetches from its GCS bucket first, then from each dataset's own URLs.
_TFDS_HOST = "storage.googleapis.com"
_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def _prepares_without_downloading(tfds) -> bool:
    """True where tfds' download_and_prepare is replaced (tfds.testing.mock_data makes it a no-op)."""
    from tensorflow_datasets.core import dataset_builder

    prepare = dataset_builder.DatasetBuilder.download_and_prepare
    return getattr(prepare, "__module__", None) != dataset_builder.__name__


def _check_can_prepare(tfds, name: str, data_dir: str | None) -> None:
    """A DataError at once where the dataset is not prepared and the network cannot be reached.

    Without this, tfds' downloader retries each URL ten times with back-off (about 3.5 minutes for GLUE) and
    ends in a requests traceback. Behind a proxy the host name is resolved by the proxy, so no check is made.
    """
    if _prepares_without_downloading(tfds):
        return
    builder = tfds.builder(name, data_dir=data_dir, file_format="array_record")
    if builder.is_prepared() or any(os.environ.get(variable) for variable in _PROXY_VARIABLES):
        return
    try:
        socket.getaddrinfo(_TFDS_HOST, 443)
    except OSError as error:
        raise DataError(
            f"tfds dataset {name!r} is not prepared in {builder.data_dir}, and this machine cannot reach the "
            f"network to download it ({_TFDS_HOST}: {error}). Prepare it where there is network and copy that "
            "directory here, or read local files (data.data_dir)."
        ) from None


def tfds_label_names(name: str, label_field: str = "label") -> tuple[str, ...]:
    """The class names tfds gives `label_field` in the dataset's feature spec (no data needed)."""
    builder = _import_catalog().builder(name)
    return tuple(builder.info.features[label_field].names)
