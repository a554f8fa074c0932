"""The corpora the configs in configs/pretrain/ read by default: WikiText-2's valid.txt and tinyshakespeare.

They are looked for under the data root: $PLMJAX_DATA, or else ../shared/data beside the repository (the
development checkout's layout). A config's `corpus` argument names other files; a missing file is a DataError
that names it when the run reads its corpus.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA_ROOT = os.environ.get("PLMJAX_DATA") or os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
WIKITEXT2_VALID = os.path.join(DATA_ROOT, "wikitext2", "valid.txt")
TINYSHAKESPEARE = os.path.join(DATA_ROOT, "tinyshakespeare", "input.txt")
# The pretraining configs' default corpus argument: both files, comma-separated.
BOTH_CORPORA = f"{WIKITEXT2_VALID},{TINYSHAKESPEARE}"
