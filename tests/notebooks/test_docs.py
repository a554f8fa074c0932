"""The docs site builds with warnings as errors: the pages of docs/, the notebooks of colabs/ (executed, with
their small parameters) and the API reference from docstrings; a broken cross-reference fails the build."""

import os
import shutil
import subprocess
import sys

import pytest

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


@pytest.mark.notebooks
def test_the_docs_build_with_executed_notebooks_and_no_warnings(tmp_path):
    out = tmp_path / "html"
    built = sphinx_build(DOCS, str(out), "-D", "nb_execution_mode=force")
    assert built.returncode == 0, built.stderr[-5000:]
    with open(out / "api.html") as f:
        api = f.read()
    for name in ("plmjax.from_pretrained", "plmjax.peft.apply", "plmjax.generate", "encode_sentences"):
        assert f'id="{name}' in api or name in api, name
    assert "Load an HF model directory" in api  # a docstring, rendered
    with open(out / "colabs" / "01_minilm_embeddings_stsb.html") as f:
        notebook = f.read()
    assert "STS-B dev, 300 pairs: Spearman x 100 =" in notebook  # an output of the executed notebook
    for name in sorted(os.listdir(os.path.join(REPO, "colabs"))):
        if name.endswith(".ipynb"):
            assert (out / "colabs" / name.replace(".ipynb", ".html")).is_file(), name
