"""STraTA end to end (plmjax.train.task_augmentation) with a tiny T5 trained here: an NLI task whose hypothesis
is planted by its label, an MR-like target task. The generator learns the NLI pairs as text and writes the
planted hypothesis for each label; the NLI classifier keeps exactly the synthetic examples it gives the intended
label the threshold's probability; the auxiliary model's encoder is exported as an HF directory transformers
loads with plmjax's outputs; self-training starts from it; a rerun of the finished pipeline trains nothing."""

import json
import os
import random

import numpy as np
import pytest

import plmjax
from plmjax.prompting import pet
from plmjax.train import task_augmentation
from plmjax.train.labeling import score_examples
from tests import lmbff_like

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")
GENERATOR_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "nli_generator.py")
LABELS, HYPOTHESES = lmbff_like.NLI_LABELS, lmbff_like.NLI_HYPOTHESES
OVERRIDES = {"data.length_buckets": "()", "data.max_length": "32", "optimizer.learning_rate": "0.003"}
GENERATOR = "steps=400,learning_rate=0.01,source_length=24,target_length=8"


def _tiny_t5(directory: str, texts: list[str]) -> None:
    """A tiny random T5 with a word-level tokenizer over `texts` (T5's specials: pad 0, EOS 1, unknown 2)."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = sorted({word for text in texts for word, _ in pre_tokenizers.Whitespace().pre_tokenize_str(text)})
    vocab = {token: i for i, token in enumerate(["<pad>", "</s>", "<unk>", *words])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(directory)
    config = transformers.T5Config(
        vocab_size=len(vocab), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=20, decoder_start_token_id=0,
    )  # fmt: skip
    transformers.T5ForConditionalGeneration(config).save_pretrained(directory)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    root = tmp_path_factory.mktemp("strata")
    bert, data = lmbff_like.make(str(root), test_size=12)
    premises = lmbff_like.make_nli(data)
    rng = random.Random(6)
    unlabeled_texts = [f"{lmbff_like.sentence(rng, i % 2)} {i}" for i in range(6)]
    _tiny_t5(str(root / "t5"), premises + unlabeled_texts + list(HYPOTHESES) + [f"{name}: " for name in LABELS])
    unlabeled = root / "unlabeled.txt"
    unlabeled.write_text("".join(f"{text}\n" for text in unlabeled_texts))
    return {
        "nli": f"{CONFIG}:task=snli,method=finetune,model={bert},data={data},steps=80",
        "target": f"{CONFIG}:task=mr,model={bert},data={data},steps=4",
        "t5": str(root / "t5"),
        "unlabeled": str(unlabeled),
    }


def _main(setting, workdir, *extra):
    argv = [
        f"--nli-config={setting['nli']}",
        f"--generator-config={GENERATOR_CONFIG}:model={setting['t5']},{GENERATOR}",
        f"--target-config={setting['target']}",
        f"--workdir={workdir}",
        f"--unlabeled={setting['unlabeled']}",
        "--samples=2",
        "--top-k=3",
        "--threshold=0.5",
        "--rounds=1",
        *extra,
    ]
    argv += [f"--config.{k}={v}" for k, v in OVERRIDES.items()]
    return task_augmentation.main(argv)


def _rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_strata_generates_filters_and_self_trains_from_the_auxiliary_model(setting, tmp_path, monkeypatch):
    work = tmp_path / "strata"
    result = _main(setting, work)
    assert 0.0 <= result["test"]["accuracy"] <= 1.0

    # The generator's training pairs are the NLI training split cast as text.
    pairs = _rows(work / "generator_pairs.jsonl")
    assert len(pairs) == 24 and pairs[1]["source"].startswith("neutral: the movie was ")
    assert [p["target"] for p in pairs[:3]] == list(HYPOTHESES)

    # Every text of the target task's unlabeled set, with each label, twice; the generator learned the pairs.
    synthetic = _rows(work / "synthetic.jsonl")
    with open(setting["unlabeled"]) as f:
        assert {row["premise"] for row in synthetic} == {line.strip() for line in f}
    assert len(synthetic) <= 6 * 3 * 2
    # A generator that ignored the label would plant a third; the top-k samples of this tiny, briefly trained
    # T5 vary with the machine's float rounding (0.69 and above seen), so the bar sits between the two.
    planted = np.mean([row["hypothesis"] == HYPOTHESES[row["label"]] for row in synthetic])
    assert planted >= 0.55, f"{planted:.2f} of the generated hypotheses are their label's"

    # Filtered: exactly the synthetic examples the NLI classifier gives their label >= the threshold.
    nli = task_augmentation.TaskAugmentation(setting["nli"], OVERRIDES, str(work)).nli_config()
    probs = pet.softmax(score_examples(nli, str(work / "nli_classifier"), synthetic)["scores"])
    kept = task_augmentation.kept_by_classifier(probs, [row["label"] for row in synthetic], 0.5)
    assert _rows(work / "filtered.jsonl") == [synthetic[i] for i in kept]

    # The auxiliary model's encoder: an HF BertModel directory giving plmjax's outputs in transformers.
    import torch
    import transformers

    auxiliary = work / "auxiliary" / "hf"
    model, params = plmjax.from_pretrained(str(auxiliary))
    tokenizer = plmjax.load_tokenizer(str(auxiliary))
    batch = tokenizer(["the movie was good ."], return_tensors="np")
    ours = model.apply({"params": params}, batch["input_ids"], batch["attention_mask"]).last_hidden_state
    hf = transformers.BertModel.from_pretrained(str(auxiliary)).eval()
    with torch.no_grad():
        theirs = hf(**{k: torch.tensor(v.astype(np.int64)) for k, v in batch.items()}).last_hidden_state
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), atol=1e-4)
    with open(work / "self-training" / "round-0" / "config.json") as f:
        assert json.load(f)["model"]["name_or_path"] == str(auxiliary)

    # A rerun finds every stage done: nothing trains or generates again, and the result is the same.
    def refuse(*args, **kwargs):
        raise AssertionError("a finished stage ran again")

    monkeypatch.setattr(task_augmentation, "train_and_evaluate", refuse)
    monkeypatch.setattr(task_augmentation, "generate_nli_examples", refuse)
    assert _main(setting, work) == result


def test_kept_by_classifier_reads_each_examples_intended_label():
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert task_augmentation.kept_by_classifier(probs, [0, 1, 2], 0.7).tolist() == [0, 2]
