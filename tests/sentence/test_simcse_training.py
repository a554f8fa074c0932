"""SimCSE in the trainer (configs/sentence.py, plmjax.train.sentence_source) on a tiny random BERT: the STS-B dev
Spearman a run logs is the one its exported model gives through encode_sentences (the MLP exported as the
pooler, SimCSE's convention), the best checkpoint is the best on dev, the loss falls; the multi-view batches,
ConSERT's augmentations, SimCSE's file layouts and SentEval's SNLI triplets; bad input is a clear error."""

import os
import random

import numpy as np
import pytest
from flax import traverse_util
from scipy import stats

import plmjax
from plmjax.data.errors import DataError, MalformedRowError
from plmjax.models.sentence_encoder import encode_sentences
from plmjax.sentence import augment, corpora
from plmjax.train.checkpoint import load_trainable
from plmjax.train.config_files import load_config
from plmjax.train.export_run import export_run
from plmjax.train.loop import train_and_evaluate
from plmjax.train.sentence_source import ViewBatches
from plmjax.train.writers import read_metrics
from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import WORDS, wordpiece_tokenizer

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "sentence.py")


def _sentence(rng):
    return " ".join(rng.choice(WORDS[:30]) for _ in range(rng.randint(4, 9)))


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """A tiny BERT encoder directory, a sentence corpus, a triplet CSV and an STS-B-like dev TSV."""
    root = tmp_path_factory.mktemp("simcse")
    rng = random.Random(0)
    model_dir = str(root / "bert")
    make_hf_model("bert", None).save_pretrained(model_dir)
    wordpiece_tokenizer().save_pretrained(model_dir)
    with open(root / "corpus.txt", "w") as f:
        f.write("\n".join(_sentence(rng) for _ in range(96)) + "\n")
    corpora.write_triplets([(_sentence(rng), _sentence(rng), _sentence(rng)) for _ in range(48)], root / "nli.csv")
    with open(root / "dev.tsv", "w") as f:
        f.write("genre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n")
        for i in range(40):
            f.write(f"g\tf\t2012\t{i}\ts\ts\t{_sentence(rng)}\t{_sentence(rng)}\t{rng.uniform(0, 5):.2f}\n")
    return model_dir, root


def _config(setting, mode, **overrides):
    model_dir, root = setting
    corpus = root / ("corpus.txt" if mode == "unsup" else "nli.csv")
    values = {"data.validation_files": str(root / "dev.tsv"), "data.batch_size": "16", "data.eval_batch_size": "16",
              "train.eval_every": "4", "train.checkpoint_every": "4", "train.log_every": "1",
              "optimizer.learning_rate": "0.001", **overrides}  # fmt: skip
    return load_config(f"{CONFIG}:mode={mode},model={model_dir},corpus={corpus},steps=12", values)


@pytest.mark.parametrize(("mode", "pooling"), [("unsup", "cls_before_pooler"), ("sup", "cls")])
def test_the_logged_dev_spearman_is_the_exported_models_and_the_best_is_kept(setting, tmp_path, mode, pooling):
    model_dir, root = setting
    config = _config(setting, mode)
    workdir = str(tmp_path / "run")
    results = train_and_evaluate(config, workdir)
    logged = {r["step"]: r["spearman"] for r in read_metrics(workdir, "validation")}
    assert sorted(logged) == [0, 4, 8, 12]
    best_step = max((step for step in logged if step), key=logged.get)  # step 0 is scored, not checkpointed
    assert results["best_step"] == best_step
    losses = [r["loss"] for r in read_metrics(workdir, "train")]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])

    out = str(tmp_path / "hf")
    assert export_run(config, workdir, out) == best_step
    model, params = plmjax.from_pretrained(out)
    checkpoint = traverse_util.flatten_dict(load_trainable(workdir, best_step), sep="/")
    np.testing.assert_array_equal(params["pooler"]["dense"]["kernel"], checkpoint["simcse_mlp/kernel"])
    with open(root / "dev.tsv") as f:
        rows = [line.rstrip("\n").split("\t") for line in f.readlines()[1:]]
    tokenizer = plmjax.load_tokenizer(out)
    first = encode_sentences(model, params, tokenizer, [r[6] for r in rows], max_length=32, pooling=pooling)
    second = encode_sentences(model, params, tokenizer, [r[7] for r in rows], max_length=32, pooling=pooling)
    expected = stats.spearmanr(np.sum(first * second, axis=1), [float(r[8]) for r in rows])[0]
    assert logged[best_step] == pytest.approx(expected, abs=1e-5)


def _views(rows=6, length=9, seed=0):
    rng = np.random.default_rng(seed)
    views = []
    for i in range(rows):
        ids = [2, *rng.integers(10, 90, 3 + i).tolist(), 3]
        views.append((ids, ids))
    return views


def test_view_batches_hold_every_view_and_weight_padding_rows_zero():
    views = [([2, 11, 12, 3], [2, 13, 3], [2, 14, 15, 16, 17, 3])] * 3
    batches = ViewBatches(views, np.arange(3, dtype=np.float32), 2, seed=0, shuffle=False, drop_remainder=False,
                          length_buckets=(8,))  # fmt: skip
    first, last = list(batches)
    assert first["input_ids"].shape == (2, 3, 8)
    np.testing.assert_array_equal(first["input_ids"][0, 2, :6], [2, 14, 15, 16, 17, 3])
    np.testing.assert_array_equal(first["attention_mask"][0].sum(-1), [4, 3, 6])
    np.testing.assert_array_equal(last["weights"], [1, 0])
    assert last["labels"][0] == 2


@pytest.mark.parametrize("name", ["shuffle", "cutoff"])
def test_augmentations_change_only_the_second_views_inner_tokens_and_replay_on_resume(name):
    views = _views()
    make = lambda: ViewBatches(views, np.zeros(6, np.int32), 6, seed=3, augmentation=name, rate=0.3,  # noqa: E731
                               length_buckets=(16,))  # fmt: skip
    batches = make()
    first = next(batches)
    state = batches.get_state()
    second = next(batches)
    resumed = make()
    resumed.set_state(state)
    np.testing.assert_array_equal(next(resumed)["input_ids"], second["input_ids"])
    assert not np.array_equal(first["input_ids"][:, 1], second["input_ids"][:, 1]) or name == "cutoff"
    for row in range(6):
        plain, changed = first["input_ids"][row, 0], first["input_ids"][row, 1]
        mask = first["attention_mask"][row]
        real = int(mask[0].sum())
        assert changed[0] == 2 and changed[real - 1] == 3  # [CLS] and [SEP] stay put
        if name == "shuffle":
            assert sorted(changed[:real]) == sorted(plain[:real]) and np.array_equal(mask[0], mask[1])
        else:
            np.testing.assert_array_equal(changed, plain)
            assert mask[0].sum() - mask[1].sum() == max(1, round(0.3 * (real - 2)))
            assert mask[1, 0] == 1 and mask[1, real - 1] == 1
    shuffled_any = any(not np.array_equal(first["input_ids"][r, 0], first["input_ids"][r, 1]) for r in range(6))
    assert shuffled_any or name == "cutoff"


def test_snli_triplets_pair_each_entailment_with_a_contradiction(tmp_path):
    s1 = ["A man sleeps .", "A man sleeps .", "A man sleeps .", "A man sleeps .", "Dogs run .", "Dogs run ."]
    s2 = ["He rests .", "He is awake .", "He dreams .", "A cat .", "Animals move .", "Dogs sit ."]
    labels = ["entailment", "contradiction", "entailment", "neutral", "entailment", "neutral"]
    for name, lines in (("s1", s1), ("s2", s2), ("labels", labels)):
        (tmp_path / f"{name}.dev").write_text("\n".join(lines) + "\n")
    triplets = corpora.snli_triplets(str(tmp_path), splits=("dev",))
    assert triplets == [
        ("A man sleeps .", "He rests .", "He is awake ."),
        ("A man sleeps .", "He dreams .", "He is awake ."),
    ]
    with pytest.raises(DataError, match="s1.test does not exist"):
        corpora.snli_triplets(str(tmp_path), splits=("test",))


def test_malformed_simcse_files_name_their_file_and_line(tmp_path):
    bad = tmp_path / "nli.csv"
    bad.write_text("sent0,sent1,hard_neg\na,b,c\nd,,f\n")
    with pytest.raises(MalformedRowError, match=r"nli.csv:3: expected 3 non-empty fields"):
        corpora.read_pairs_or_triplets(str(bad))
    bad.write_text("premise,hypothesis\na,b\n")
    with pytest.raises(MalformedRowError, match=r"nli.csv:1: the header must start sent0,sent1"):
        corpora.read_pairs_or_triplets(str(bad))
    with pytest.raises(DataError, match="missing.txt does not exist"):
        corpora.read_sentences(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="augmentation='crop'"):
        augment.check_augmentation("crop")


def test_augmenting_a_supervised_run_is_refused(setting, tmp_path):
    config = _config(setting, "sup", **{"objective.simcse.augmentation": "shuffle"})
    with pytest.raises(ValueError, match="augmentation is for unsupervised runs"):
        train_and_evaluate(config, str(tmp_path))
