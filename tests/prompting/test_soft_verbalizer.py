"""SoftVerbalizer (WARP): at init from label words its scores equal ManualVerbalizer's class logits on tiny BERT
and RoBERTa; its cross-entropy and gradients equal a hand computation; random init; clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.prompting import Field, ManualVerbalizer, Mask, PromptError, Template, Text, collate, prompt_logits
from plmjax.prompting.logits import prompt_loss
from plmjax.prompting.mask_outputs import MaskOutputs, mask_outputs
from plmjax.prompting.soft_verbalizer import SoftVerbalizer
from tests.prompting.conftest import wordpiece_tokenizer

EXAMPLES = ["the movie was great .", "the food was bad and the service was slow", "a fine day", "not the best book"]
TEMPLATE = Template(Field("text_a"), Text(" it was"), Mask(), Text("."))
LABEL_WORDS = [["terrible", "bad"], ["great"], ["fine", "good", "very"]]


def _batch(tokenizer):
    prompts = [TEMPLATE.encode({"text_a": text}, tokenizer, max_length=32) for text in EXAMPLES]
    return collate(prompts, tokenizer.pad_token_id, labels=[1, 0, 2, 0])


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_scores_at_init_equal_the_manual_verbalizer(masked_lm, family):
    _, model, params, tokenizer = masked_lm(family)
    soft, manual = SoftVerbalizer(LABEL_WORDS, tokenizer), ManualVerbalizer(LABEL_WORDS, tokenizer)
    own = soft.init(jax.random.key(0), model, params)
    assert own["class_embeddings"].shape == (3, model.config.embed_size) and own["class_bias"].shape == (3,)
    batch = _batch(tokenizer)
    ours = prompt_logits(model, params, batch, soft, verbalizer_params=own)
    theirs = prompt_logits(model, params, batch, manual)
    assert ours.shape == (4, 3)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5, rtol=0)
    # The same through the scores interface on one MaskOutputs.
    outputs = mask_outputs(model, params, batch, soft.word_ids)
    np.testing.assert_allclose(soft.scores(own, outputs), manual.scores(None, outputs), atol=1e-5, rtol=0)
    # Traceable: the objective initialises it under jax.eval_shape and jit.
    shapes = jax.eval_shape(lambda p: soft.init(jax.random.key(0), model, p), params)
    assert shapes["class_embeddings"].shape == own["class_embeddings"].shape
    jitted = jax.jit(lambda p: soft.init(jax.random.key(0), model, p))(params)
    np.testing.assert_allclose(jitted["class_embeddings"], own["class_embeddings"], atol=1e-7)


def _outputs(transformed):
    transformed = jnp.asarray(transformed, jnp.float32)
    return MaskOutputs(word_logits=jnp.zeros((len(transformed), 1)), transformed=transformed, hidden=transformed)


def test_cross_entropy_by_hand():
    """transformed (1, 0), class rows (1, 0) and (0, 1), no bias: logits (1, 0); label 0: log(1 + e^-1)."""
    own = {"class_embeddings": jnp.eye(2), "class_bias": jnp.zeros(2)}
    scores = SoftVerbalizer(num_classes=2).scores(own, _outputs([[1.0, 0.0]]))
    np.testing.assert_allclose(scores, [[1.0, 0.0]])
    np.testing.assert_allclose(prompt_loss(scores, [0]), np.log1p(np.exp(-1.0)), rtol=1e-6)


def test_loss_and_gradients_equal_numpy():
    rng = np.random.default_rng(0)
    transformed = rng.normal(size=(5, 6))
    embeddings, bias = rng.normal(size=(3, 6)), rng.normal(size=3)
    labels, weights = np.array([0, 2, 1, 2, 0]), np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # the last row pads
    verbalizer = SoftVerbalizer(num_classes=3)

    def loss_fn(own):
        return prompt_loss(verbalizer.scores(own, _outputs(transformed)), labels, weights)

    own = {"class_embeddings": jnp.asarray(embeddings, jnp.float32), "class_bias": jnp.asarray(bias, jnp.float32)}
    loss, grads = jax.value_and_grad(loss_fn)(own)

    logits = transformed @ embeddings.T + bias
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    one_hot = np.eye(3)[labels]
    expected = -np.sum(weights * np.log(probs[np.arange(5), labels])) / weights.sum()
    error = weights[:, None] * (probs - one_hot) / weights.sum()  # d loss / d logits
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(grads["class_embeddings"], error.T @ transformed, atol=1e-6)
    np.testing.assert_allclose(grads["class_bias"], error.sum(0), atol=1e-6)


def test_random_init(masked_lm):
    _, model, params, _ = masked_lm("bert")
    verbalizer = SoftVerbalizer(num_classes=4)
    own = verbalizer.init(jax.random.key(1), model, params)
    again = verbalizer.init(jax.random.key(1), model, params)
    other = verbalizer.init(jax.random.key(2), model, params)
    assert own["class_embeddings"].shape == (4, model.config.embed_size)
    np.testing.assert_array_equal(own["class_embeddings"], again["class_embeddings"])
    assert not np.allclose(own["class_embeddings"], other["class_embeddings"])
    assert not np.any(own["class_bias"])
    assert float(jnp.std(own["class_embeddings"])) < 3 * model.config.initializer_range
    assert verbalizer.word_ids.size == 1 and verbalizer.uses_cross_entropy
    assert verbalizer.loss_terms(own, None, None, None) == {} and verbalizer.term_counts(None, None) == {}


def test_errors():
    tokenizer = wordpiece_tokenizer()
    with pytest.raises(PromptError, match="label_words or num_classes"):
        SoftVerbalizer()
    with pytest.raises(PromptError, match="needs their tokenizer"):
        SoftVerbalizer([["bad"], ["great"]])
    with pytest.raises(PromptError, match="num_classes 3 but label_words has 2"):
        SoftVerbalizer([["bad"], ["great"]], tokenizer, num_classes=3)
    with pytest.raises(PromptError, match="not one token"):  # ManualVerbalizer's check
        SoftVerbalizer([["bad"], ["greats"]], tokenizer)
