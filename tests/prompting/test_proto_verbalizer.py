"""PrototypicalVerbalizer (ProtoVerb): both loss terms against a hand computation; on a classes x shots batch
(shuffled) the terms and their gradients equal OpenPrompt's pcl_loss, ported to torch as OpenPrompt writes it;
padding rows change nothing; scores (alone and OpenPrompt's ensemble with the manual logits); init; on tiny BERT."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from plmjax.prompting import Field, Mask, PromptError, Template, Text, collate
from plmjax.prompting.mask_outputs import MaskOutputs, mask_outputs
from plmjax.prompting.proto_verbalizer import PrototypicalVerbalizer
from tests.prompting.conftest import wordpiece_tokenizer

TERMS = ("instance_prototype", "instance_instance")


def _outputs(hidden, word_logits=None):
    hidden = jnp.asarray(hidden, jnp.float32)
    word_logits = jnp.zeros((len(hidden), 1)) if word_logits is None else jnp.asarray(word_logits, jnp.float32)
    return MaskOutputs(word_logits=word_logits, transformed=hidden, hidden=hidden)


def _means(verbalizer, own, hidden, labels, weights):
    terms = verbalizer.loss_terms(own, _outputs(hidden), labels, weights)
    return {name: float(total / count) for name, (total, count) in terms.items()}


def test_two_orthogonal_rows_by_hand():
    """Rows (1, 0) and (0, 1) of classes 0 and 1, prototypes the same, W = I: s = 1 to its own prototype and
    row, 0 to the others. Each row's instance-prototype loss is log(1 + e^-1); each (anchor, itself) pair's
    instance-instance loss log(e + e^0) - 1, the same; both counts are 2 classes x 2."""
    verbalizer = PrototypicalVerbalizer(2, mid_dim=2)
    own = {"projection": jnp.eye(2), "prototypes": jnp.eye(2)}
    terms = verbalizer.loss_terms(own, _outputs(np.eye(2)), np.array([0, 1]), np.ones(2))
    for name in TERMS:
        total, count = terms[name]
        np.testing.assert_allclose(float(total), 2 * np.log1p(np.exp(-1.0)), rtol=1e-6)
        assert float(count) == 4.0


def _loops(hidden, projection, prototypes, labels, weights, classes):
    """Both terms with explicit loops over rows, in float64."""
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
    z, p = unit(hidden @ projection), unit(prototypes)
    rows = [r for r in range(len(labels)) if weights[r]]
    prototype_sum = sum(-np.log(np.exp(z[r] @ p[labels[r]]) / np.exp(z[r] @ p.T).sum()) for r in rows)
    instance_sum, pairs = 0.0, 0
    for r in rows:
        negatives = sum(np.exp(z[t] @ z[r]) for t in rows if labels[t] != labels[r])
        for q in rows:
            if labels[q] == labels[r]:
                positive = np.exp(z[q] @ z[r])
                instance_sum += -np.log(positive / (positive + negatives))
                pairs += 1
    return {
        "instance_prototype": prototype_sum / (classes * len(rows)),
        "instance_instance": instance_sum / (classes * pairs),
    }


def test_losses_equal_loops_by_hand():
    rng = np.random.default_rng(0)
    hidden, projection, prototypes = rng.normal(size=(7, 6)), rng.normal(size=(6, 4)), rng.normal(size=(3, 4))
    labels, weights = np.array([0, 1, 0, 2, 1, 1, 2]), np.array([1, 1, 1, 1, 1, 0, 1.0])
    verbalizer = PrototypicalVerbalizer(3, mid_dim=4)
    own = {"projection": jnp.asarray(projection, jnp.float32), "prototypes": jnp.asarray(prototypes, jnp.float32)}
    ours = _means(verbalizer, own, hidden, labels, weights)
    expected = _loops(hidden, projection, prototypes, labels, weights, 3)
    for name in TERMS:
        np.testing.assert_allclose(ours[name], expected[name], rtol=1e-5)
    counts = verbalizer.term_counts(labels, weights)
    terms = verbalizer.loss_terms(own, _outputs(hidden), labels, weights)
    assert {name: float(c) for name, c in counts.items()} == {name: float(terms[name][1]) for name in TERMS}
    assert float(counts["instance_instance"]) == 3 * (2**2 + 2**2 + 2**2)  # classes x same-class (r, q) pairs


def openprompt_pcl_loss(v_ins, proto, num_classes):
    """OpenPrompt's ProtoVerbalizer.sim and .pcl_loss (openprompt/prompts/prototypical_verbalizer.py), line for
    line, returning the instance-prototype and instance-instance terms it adds up."""

    def sim(x, y):
        norm_x = F.normalize(x, dim=-1)
        norm_y = F.normalize(y, dim=-1)
        return torch.matmul(norm_x, norm_y.transpose(1, 0))

    sim_mat = torch.exp(sim(v_ins, proto))
    num = sim_mat.shape[1]
    loss = 0.0
    for i in range(num):
        pos_score = torch.diag(sim_mat[:, i, :])
        neg_score = sim_mat[:, i, :].sum(1) - pos_score
        loss += -torch.log(pos_score / (pos_score + neg_score)).sum()
    loss = loss / (num * num_classes * num_classes)

    loss_ins = 0.0
    for i in range(v_ins.shape[0]):
        sim_instance = torch.exp(sim(v_ins, v_ins[i]))
        pos_ins = sim_instance[i]
        neg_ins = (sim_instance.sum(0) - pos_ins).sum(0)
        loss_ins += -torch.log(pos_ins / (pos_ins + neg_ins)).sum()
    loss_ins = loss_ins / (num * num_classes * num * num_classes)
    return loss, loss_ins


def _weighted_total(verbalizer, own, hidden, labels, weights):
    terms = verbalizer.loss_terms(own, _outputs(hidden), labels, weights)
    return sum(verbalizer.term_weights[name] * total / count for name, (total, count) in terms.items())


def test_terms_and_gradients_equal_openprompt_on_classes_by_shots():
    classes, shots, hidden_size, mid_dim = 3, 4, 8, 5
    torch.manual_seed(0)
    embeds = torch.randn(classes, shots, hidden_size)
    head = torch.nn.Linear(hidden_size, mid_dim, bias=False)
    proto = torch.nn.Parameter(torch.nn.init.xavier_uniform_(torch.empty(classes, mid_dim)))
    loss, loss_ins = openprompt_pcl_loss(head(embeds), proto, classes)
    (loss + loss_ins).backward()  # OpenPrompt's train_proto step

    # The same examples as one shuffled labeled batch.
    order = np.random.default_rng(0).permutation(classes * shots)
    hidden = embeds.numpy().reshape(classes * shots, hidden_size)[order]
    labels = np.repeat(np.arange(classes), shots)[order]
    weights = np.ones(classes * shots)
    verbalizer = PrototypicalVerbalizer(classes, mid_dim=mid_dim)
    own = {"projection": jnp.asarray(head.weight.detach().numpy().T), "prototypes": jnp.asarray(proto.detach().numpy())}
    ours = _means(verbalizer, own, hidden, labels, weights)
    np.testing.assert_allclose(ours["instance_prototype"], loss.item(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours["instance_instance"], loss_ins.item(), atol=1e-5, rtol=0)

    grads = jax.grad(_weighted_total, argnums=1)(verbalizer, own, hidden, labels, weights)
    np.testing.assert_allclose(grads["projection"], head.weight.grad.numpy().T, atol=1e-5, rtol=0)
    np.testing.assert_allclose(grads["prototypes"], proto.grad.numpy(), atol=1e-5, rtol=0)


def test_padding_rows_change_nothing():
    rng = np.random.default_rng(1)
    verbalizer = PrototypicalVerbalizer(3, mid_dim=4)
    own = verbalizer.init(jax.random.key(0), _Model(6), None)
    hidden, labels = rng.normal(size=(6, 6)), np.array([0, 1, 2, 0, 1, 2])
    padded_hidden = np.concatenate([hidden, rng.normal(size=(3, 6))])
    padded_labels = np.concatenate([labels, [0, -1, 2]])  # a padding row's label may be anything
    padded_weights = np.concatenate([np.ones(6), np.zeros(3)])
    plain = verbalizer.loss_terms(own, _outputs(hidden), labels, np.ones(6))
    padded = verbalizer.loss_terms(own, _outputs(padded_hidden), padded_labels, padded_weights)
    for name in TERMS:
        np.testing.assert_allclose(np.asarray(padded[name]), np.asarray(plain[name]), rtol=1e-6)
    grad = jax.grad(_weighted_total, argnums=1)
    plain_grads = grad(verbalizer, own, hidden, labels, np.ones(6))
    padded_grads = grad(verbalizer, own, padded_hidden, padded_labels, padded_weights)
    for name in own:
        np.testing.assert_allclose(padded_grads[name], plain_grads[name], atol=1e-7)


class _Model:
    """What init reads of a model."""

    def __init__(self, hidden_size):
        self.config = type("Config", (), {"hidden_size": hidden_size})()


def test_init_like_openprompt():
    verbalizer = PrototypicalVerbalizer(3)
    assert verbalizer.mid_dim == 64  # OpenPrompt's default
    own = verbalizer.init(jax.random.key(0), _Model(16), None)
    assert own["projection"].shape == (16, 64) and own["prototypes"].shape == (3, 64)
    assert float(jnp.abs(own["projection"]).max()) <= 1 / np.sqrt(16)  # torch.nn.Linear's default bound
    assert float(jnp.abs(own["prototypes"]).max()) <= np.sqrt(6 / (3 + 64))  # xavier_uniform's bound
    again, other = (verbalizer.init(jax.random.key(k), _Model(16), None) for k in (0, 1))
    np.testing.assert_array_equal(own["prototypes"], again["prototypes"])
    assert not np.allclose(own["prototypes"], other["prototypes"])


def test_scores_alone_are_cosine_similarities():
    rng = np.random.default_rng(2)
    hidden, projection, prototypes = rng.normal(size=(4, 6)), rng.normal(size=(6, 5)), rng.normal(size=(3, 5))
    own = {"projection": jnp.asarray(projection, jnp.float32), "prototypes": jnp.asarray(prototypes, jnp.float32)}
    scores = PrototypicalVerbalizer(3, mid_dim=5).scores(own, _outputs(hidden))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = unit(hidden @ projection) @ unit(prototypes).T
    np.testing.assert_allclose(scores, expected, atol=1e-6)


def test_ensemble_with_label_words_equals_openprompt():
    """OpenPrompt's multi_verb="multi": its project + aggregate (manual logits) and ensemble_logits + scaler."""
    tokenizer = wordpiece_tokenizer()
    label_words = [["bad", "terrible"], ["great"], ["fine", "good"]]
    verbalizer = PrototypicalVerbalizer(3, mid_dim=5, label_words=label_words, tokenizer=tokenizer)
    rng = np.random.default_rng(3)
    vocab_logits, hidden = rng.normal(size=(4, 99)).astype(np.float32), rng.normal(size=(4, 6))
    projection, prototypes = rng.normal(size=(6, 5)), rng.normal(size=(3, 5))
    own = {"projection": jnp.asarray(projection, jnp.float32), "prototypes": jnp.asarray(prototypes, jnp.float32)}
    ours = verbalizer.scores(own, _outputs(hidden, vocab_logits[:, verbalizer.word_ids]))

    # OpenPrompt: label words padded to [classes, words] with a mask; single-token words ("first" handler).
    ids = [[tokenizer.convert_tokens_to_ids(w) for w in words] for words in label_words]
    padded = torch.tensor([row + [0] * (2 - len(row)) for row in ids])
    mask = torch.tensor([[1] * len(row) + [0] * (2 - len(row)) for row in ids])
    label_words_logits = torch.tensor(vocab_logits)[:, padded]
    label_words_logits -= 10000 * (1 - mask)
    manual_logits = (label_words_logits * mask).sum(-1) / mask.sum(-1)
    proto_logits = torch.tensor(np.asarray(PrototypicalVerbalizer(3, mid_dim=5).scores(own, _outputs(hidden))))

    def scaler(logits):
        m = logits.mean(-1, keepdim=True)
        s = logits.std(-1, keepdim=True)
        return (logits - m) / s

    logits = torch.stack([manual_logits, proto_logits]).permute(1, 0, 2)
    expected = torch.mean(scaler(logits), 1)
    np.testing.assert_allclose(ours, expected.numpy(), atol=1e-5)


def test_on_tiny_bert_under_jit(masked_lm):
    _, model, params, tokenizer = masked_lm("bert")
    verbalizer = PrototypicalVerbalizer(2, mid_dim=8, label_words=[["bad"], ["great"]], tokenizer=tokenizer)
    shapes = jax.eval_shape(lambda p: verbalizer.init(jax.random.key(0), model, p), params)
    assert shapes["projection"].shape == (model.config.hidden_size, 8)
    own = jax.jit(lambda p: verbalizer.init(jax.random.key(0), model, p))(params)
    template = Template(Field("text_a"), Text(" it was"), Mask(), Text("."))
    texts = ["the movie was great .", "the food was bad", "a fine day", "i hated this book"]
    batch = collate([template.encode({"text_a": t}, tokenizer, max_length=32) for t in texts], 0, [1, 0, 1, 0])
    outputs = mask_outputs(model, params, batch, verbalizer.word_ids)
    weights = np.array([1.0, 1.0, 1.0, 0.0])
    terms = jax.jit(verbalizer.loss_terms)(own, outputs, batch["labels"], weights)
    counts = verbalizer.term_counts(batch["labels"], weights)
    for name in TERMS:
        assert np.isfinite(float(terms[name][0])) and float(terms[name][1]) == float(counts[name])
    assert verbalizer.scores(own, outputs).shape == (4, 2) and not verbalizer.uses_cross_entropy


def test_errors():
    tokenizer = wordpiece_tokenizer()
    with pytest.raises(PromptError, match="num_classes >= 2"):
        PrototypicalVerbalizer(1)
    with pytest.raises(PromptError, match="num_classes 3 but label_words has 2"):
        PrototypicalVerbalizer(3, label_words=[["bad"], ["great"]], tokenizer=tokenizer)
    with pytest.raises(PromptError, match="need their tokenizer"):
        PrototypicalVerbalizer(2, label_words=[["bad"], ["great"]])
