"""The docs site builds with warnings as errors: the pages of docs/, the notebooks of colabs/ and the API reference
from docstrings; a broken cross-reference fails the build. The build with the executed notebooks is the last test
of test_colabs.py, which renders the notebooks its own tests ran."""

import os
import shutil
import subprocess
import sys

from tests.train.runs import REPO

DOCS = os.path.join(REPO, "docs")


def sphinx_build(source: str, out: str, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", *options, source, out]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def test_a_broken_cross_reference_fails_the_build(tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, symlinks=False, ignore=shutil.ignore_patterns("_build"))
    with open(source / "getting_started.md", "a") as f:
        f.write("\nSee [the missing page](no_such_page.md).\n")
    built = sphinx_build(str(source), str(tmp_path / "html"), "-D", "nb_execution_mode=off")
    assert built.returncode != 0
    assert "no_such_page.md" in built.stderr, built.stderr[-2000:]
