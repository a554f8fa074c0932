"""Every notebook in colabs/ runs top to bottom on CPU with its small parameters (SMALL = True), and ends with
the numbers its task should give; the docs site then builds from the executed notebooks. Off by default
(minutes); `pytest --run-notebooks` runs them, as .ci/run does.

Each notebook is executed once, in a fresh kernel (nbclient) in a scratch directory, with one extra cell at the
end that prints the notebook's result variables as JSON; the checks below read those. The executed notebook
(without that cell) is kept for the docs build at the end of this module, so the notebooks run once, not twice
(once here and once by the docs build's executor). pytest's --dist loadscope keeps this module on one worker."""

import json
import os
import shutil

import pytest

from tests.notebooks.test_docs import DOCS, sphinx_build
from tests.train.runs import REPO

COLABS = os.path.join(REPO, "colabs")
NOTEBOOKS = sorted(name for name in os.listdir(COLABS) if name.endswith(".ipynb"))
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
REPORTS = {  # each notebook's result variables, printed by the appended cell
    "01_minilm_embeddings_stsb.ipynb": ["STSB_SPEARMAN", "EXPORT_MAX_DIFF", "similarity.tolist()"],
    "02_lora_full_prompt_kshot.ipynb": ["TRAINABLE_SHARE", "DEV_ACCURACY"],
    "03_pretrain_bert_mlm.ipynb": ["LOSSES", "FILLS"],
    "04_gpt2_generation.ipynb": ["GENERATED", "PERPLEXITY"],
    "05_sharding_8_cpu_devices.ipynb": ["LOSS_MAX_DIFF", "SPECS", "jax.device_count()"],
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """name -> (the result variables, the executed notebook); each notebook runs on first use."""
    done = {}
    scratch = tmp_path_factory.mktemp("notebooks")

    def run(name: str):
        if name not in done:
            done[name] = execute(name, scratch / name.removesuffix(".ipynb"), REPORTS[name])
        return done[name]

    return run


def execute(name: str, workdir, variables: list[str]):
    import nbclient
    import nbformat

    notebook = nbformat.read(os.path.join(COLABS, name), as_version=4)
    fields = ", ".join(f"{v!r}: {v}" for v in variables)
    report = f"import json as _json\nprint(_json.dumps({{{fields}}}, default=str))"
    notebook.cells.append(nbformat.v4.new_code_cell(report))
    os.makedirs(workdir, exist_ok=True)
    client = nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    outputs = notebook.cells.pop().outputs
    return json.loads("".join(out.get("text", "") for out in outputs if out.output_type == "stream")), notebook


def test_every_notebook_is_stripped_badged_and_parameterised():
    import nbformat

    assert len(NOTEBOOKS) >= 5, NOTEBOOKS
    for name in NOTEBOOKS:
        notebook = nbformat.read(os.path.join(COLABS, name), as_version=4)
        nbformat.validate(notebook)
        assert BADGE in notebook.cells[0].source and f"colabs/{name}" in notebook.cells[0].source, name
        assert "pip" in notebook.cells[1].source, f"{name}: the first code cell installs plmjax"
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert not [cell for cell in code if cell.outputs or cell.execution_count], f"{name}: outputs not stripped"
        parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
        assert len(parameters) == 1 and "SMALL = True" in parameters[0].source, name


@pytest.mark.notebooks
def test_minilm_embeddings_stsb_and_export(executed):
    result, _ = executed("01_minilm_embeddings_stsb.ipynb")
    # all-MiniLM-L6-v2 scores 86.7 on the whole dev set (docs/sentence.md), 93.3 on its first 300 pairs.
    assert 0.90 < result["STSB_SPEARMAN"] < 0.96
    assert result["EXPORT_MAX_DIFF"] < 1e-4
    # "A man is playing a guitar." is nearer "Someone is playing an instrument." than the stock market.
    guitar = result["similarity.tolist()"][0]
    assert guitar[1] > guitar[2] and guitar[1] > guitar[3]


@pytest.mark.notebooks
def test_lora_full_prompt_kshot(executed):
    result, _ = executed("02_lora_full_prompt_kshot.ipynb")
    share = result["TRAINABLE_SHARE"]
    assert share["full"] == 1.0
    assert 0 < share["prompt"] < share["lora"] < 0.02
    assert set(result["DEV_ACCURACY"]) == {"full", "lora", "prompt"}
    assert all(0.0 <= accuracy <= 1.0 for accuracy in result["DEV_ACCURACY"].values())


@pytest.mark.notebooks
def test_pretrain_bert_mlm_and_fill_masks(executed):
    result, _ = executed("03_pretrain_bert_mlm.ipynb")
    losses = result["LOSSES"]
    assert sum(losses[-3:]) / 3 < losses[0] - 0.5, losses  # the MLM loss falls
    assert len(result["FILLS"]) == 3 and all(len(fill) == 5 for fill in result["FILLS"])


@pytest.mark.notebooks
def test_gpt2_generation_and_perplexity(executed):
    result, _ = executed("04_gpt2_generation.ipynb")
    assert len(result["GENERATED"]) == 3
    for text in result["GENERATED"].values():
        assert text.startswith("ROMEO:\n") and len(text) > len("ROMEO:\n") + 20
    assert any(char.isalpha() for char in result["GENERATED"]["sampling (T=0.8, top-k 20)"][len("ROMEO:\n") :])
    # trained: far better than guessing among tinyshakespeare's 65 characters
    assert 1.0 < result["PERPLEXITY"] < 30.0


@pytest.mark.notebooks
def test_sharding_on_8_virtual_devices(executed):
    result, _ = executed("05_sharding_8_cpu_devices.ipynb")
    assert result["jax.device_count()"] == 8
    assert result["LOSS_MAX_DIFF"] < 1e-4
    assert result["SPECS"]


@pytest.mark.notebooks
def test_the_docs_build_with_executed_notebooks_and_no_warnings(executed, tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, symlinks=False, ignore=shutil.ignore_patterns("_build"))
    import nbformat

    for name in NOTEBOOKS:  # the outputs of this module's runs, rendered as they are (no second execution)
        nbformat.write(executed(name)[1], source / "colabs" / name)
    out = tmp_path / "html"
    built = sphinx_build(str(source), str(out), "-D", "nb_execution_mode=off")
    assert built.returncode == 0, built.stderr[-5000:]
    with open(out / "api.html") as f:
        api = f.read()
    for name in ("plmjax.from_pretrained", "plmjax.peft.apply", "plmjax.generate", "encode_sentences"):
        assert f'id="{name}' in api or name in api, name
    assert "Load an HF model directory" in api  # a docstring, rendered
    with open(out / "colabs" / "01_minilm_embeddings_stsb.html") as f:
        notebook = f.read()
    assert "STS-B dev, 300 pairs: Spearman x 100 =" in notebook  # an output of the executed notebook
    for name in NOTEBOOKS:
        assert (out / "colabs" / name.replace(".ipynb", ".html")).is_file(), name
