"""PromptBERT's template embeddings equal kongds/Prompt-BERT's arithmetic (ported below: the template alone for
every sentence length with shifted positions, `pooler_output -= delta[blen]`) on a tiny random BERT from
transformers, denoised or not; a SimCSE run with templates scores STS-B dev through them; bad templates are
clear errors."""

import os

import numpy as np
import pytest
from scipy import stats

import plmjax
from plmjax.sentence.prompt_embedding import SentenceTemplate, TemplateError, encode_with_template
from plmjax.train.config_files import load_config
from plmjax.train.loop import train_and_evaluate
from plmjax.train.writers import read_metrics
from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import wordpiece_tokenizer

TEMPLATE = 'this sentence : " [X] " means [MASK] .'
SENTENCES = ["it was great", "the movie was not very good and the plot was slow", "i liked it", "bad"]
CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "sentence.py")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("bert"))
    make_hf_model("bert", None).eval().save_pretrained(path)
    wordpiece_tokenizer().save_pretrained(path)
    return path


def reference_embeddings(path, sentences, denoise):
    """Prompt-BERT's sentemb_forward: [CLS] bs sentence es [SEP]; the state at [MASK]; minus delta[blen], the
    template alone (its positions after bs shifted by blen) for every length blen."""
    import torch
    import transformers

    tokenizer = wordpiece_tokenizer()
    encoder = transformers.BertModel.from_pretrained(path).eval()
    before, after = TEMPLATE.split("[X]")
    bs = tokenizer(before, add_special_tokens=False)["input_ids"]
    es = tokenizer(after, add_special_tokens=False)["input_ids"]
    template = [tokenizer.cls_token_id, *bs, *es, tokenizer.sep_token_id]
    rows = [[tokenizer.cls_token_id, *bs, *tokenizer(s, add_special_tokens=False)["input_ids"], *es,
             tokenizer.sep_token_id] for s in sentences]  # fmt: skip
    longest = max(map(len, rows))
    input_ids = torch.tensor([r + [0] * (longest - len(r)) for r in rows])
    attention_mask = (input_ids != 0).long()
    with torch.no_grad():
        last = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooler_output = last[input_ids == tokenizer.mask_token_id]
        if denoise:
            length = 50
            d_input_ids = torch.tensor([template]).repeat(length, 1)
            d_position_ids = torch.arange(d_input_ids.shape[1]).unsqueeze(0).repeat(length, 1)
            d_position_ids[:, len(bs) + 1 :] += torch.arange(length).unsqueeze(-1)
            # An explicit all-ones mask: without one, transformers 5 reads position ids that jump as packed
            # sequences and blocks attention across the jump (transformers 4, which Prompt-BERT ran on, did not).
            ones = torch.ones_like(d_input_ids)
            delta = encoder(input_ids=d_input_ids, attention_mask=ones, position_ids=d_position_ids).last_hidden_state
            delta = delta[d_input_ids == tokenizer.mask_token_id]
            blen = attention_mask.sum(-1) - len(template)
            pooler_output = pooler_output - delta[blen]
    vectors = pooler_output.numpy()
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


@pytest.mark.parametrize("denoise", [True, False])
def test_template_embeddings_equal_prompt_berts(tiny, denoise):
    model, params = plmjax.from_pretrained(tiny)
    ours = encode_with_template(model, params, plmjax.load_tokenizer(tiny), SENTENCES, TEMPLATE, denoise,
                                batch_size=3)  # fmt: skip
    np.testing.assert_allclose(ours, reference_embeddings(tiny, SENTENCES, denoise), atol=1e-5)


def test_bad_templates_are_clear_errors():
    tokenizer = wordpiece_tokenizer()
    for text, message in [
        ("this sentence means [MASK] .", r"must hold \[X\] \(the sentence\) and \[MASK\] once each"),
        ("[X] [MASK] [MASK]", "once each"),
        ("[MASK] means [X]", r"\[MASK\] must follow \[X\]"),
    ]:
        with pytest.raises(TemplateError, match=message):
            SentenceTemplate.parse(text, tokenizer)
    with pytest.raises(TemplateError, match="leaves no room for the sentence"):
        SentenceTemplate.parse(TEMPLATE, tokenizer).wrap([9, 9], max_length=8)


def test_a_templated_simcse_run_scores_sts_b_dev_through_the_templates(tiny, tmp_path):
    rng = np.random.default_rng(0)
    words = ["it", "was", "great", "terrible", "good", "bad", "the", "movie", "film", "is", "and", "not", "very"]
    sentence = lambda: " ".join(rng.choice(words, rng.integers(3, 8)))  # noqa: E731
    (tmp_path / "corpus.txt").write_text("\n".join(sentence() for _ in range(64)) + "\n")
    pairs = [(sentence(), sentence(), float(rng.uniform(0, 5))) for _ in range(24)]
    lines = ["g\tf\ty\ti\ts\ts\tsentence1\tsentence2\tscore"] + [f"g\tf\ty\t{i}\ts\ts\t{a}\t{b}\t{g:.2f}"
                                                                    for i, (a, b, g) in enumerate(pairs)]  # fmt: skip
    (tmp_path / "dev.tsv").write_text("\n".join(lines) + "\n")
    overrides = {
        "objective.simcse.pooler": "mask", "objective.simcse.template": TEMPLATE,
        "objective.simcse.template2": 'this sentence of " [X] " means [MASK] .',
        "data.validation_files": str(tmp_path / "dev.tsv"), "data.batch_size": "16", "data.max_length": "48",
        "data.length_buckets": "(48,)", "train.eval_every": "4", "optimizer.learning_rate": "0.001",
    }  # fmt: skip
    config = load_config(f"{CONFIG}:mode=unsup,model={tiny},corpus={tmp_path / 'corpus.txt'},steps=8", overrides)
    train_and_evaluate(config, str(tmp_path / "run"))
    logged = {r["step"]: r["spearman"] for r in read_metrics(str(tmp_path / "run"), "validation")}
    model, params = plmjax.from_pretrained(tiny)
    tokenizer = plmjax.load_tokenizer(tiny)
    first, second = (encode_with_template(model, params, tokenizer, [p[i] for p in pairs], TEMPLATE) for i in (0, 1))
    expected = stats.spearmanr(np.sum(first * second, axis=1), [p[2] for p in pairs])[0]
    assert logged[0] == pytest.approx(expected, abs=1e-5)
    assert logged[8] != logged[0]
