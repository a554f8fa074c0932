"""Every exit's logits equal transformers' (PyTorch, CPU): the model's hidden states (output_hidden_states=True)
through the same heads built in torch with the same weights, the last exit being transformers' own classifier
output. Padded rows included; tiny random models, float32."""

import numpy as np
import pytest
import torch
from transformers.models.bert.modeling_bert import BertPooler
from transformers.models.mpnet.modeling_mpnet import MPNetClassificationHead
from transformers.models.roberta.modeling_roberta import RobertaClassificationHead

from plmjax.early_exit import all_exits, num_exits
from tests.early_exit.conftest import random_batch


def _linear(kernel, bias) -> torch.nn.Linear:
    """A torch Linear holding a plmjax (in, out) kernel: its weight is the transpose."""
    layer = torch.nn.Linear(*kernel.shape)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.asarray(kernel).T.copy()))
        layer.bias.copy_(torch.from_numpy(np.asarray(bias)))
    return layer


def torch_head(family: str, hf_config, heads: dict, i: int):
    """Exit i's head as transformers builds the family's classification head (DeeBERT's highway for BERT)."""
    take = lambda tree: {k: np.asarray(v)[i] for k, v in tree.items()}  # noqa: E731
    if family in ("roberta", "mpnet"):
        head = (RobertaClassificationHead if family == "roberta" else MPNetClassificationHead)(hf_config).eval()
        dense, out = take(heads["classifier"]["dense"]), take(heads["classifier"]["out"])
        head.dense, head.out_proj = _linear(dense["kernel"], dense["bias"]), _linear(out["kernel"], out["bias"])
        return head
    pooler_weights, out = take(heads["pooler"]["dense"]), take(heads["classifier"]["out"])
    classifier = _linear(out["kernel"], out["bias"])
    if family == "bert":
        pooler = BertPooler(hf_config).eval()
        pooler.dense = _linear(pooler_weights["kernel"], pooler_weights["bias"])
        return lambda h: classifier(pooler(h))
    # ALBERT's pooler: a Linear and tanh on the first token (AlbertModel.pooler, pooler_activation).
    pooler = _linear(pooler_weights["kernel"], pooler_weights["bias"])
    return lambda h: classifier(torch.tanh(pooler(h[:, 0])))


# BERT's pooler, RoBERTa's own dense layer, ALBERT's shared layers, MPNet's relative position bias.
@pytest.mark.parametrize("family", ["bert", "roberta", "albert", "mpnet"])
def test_every_exit_equals_transformers_hidden_states_through_the_same_heads(tiny_classifier, family):
    hf_model, model, params = tiny_classifier(family)
    batch = random_batch(family, rows=5)
    with torch.no_grad():
        out = hf_model(**{k: torch.from_numpy(v).long() for k, v in batch.items()}, output_hidden_states=True)
        states = out.hidden_states[1:]
        assert len(states) == num_exits(model) == (8 if family == "albert" else 4)
        heads = params["early_exit"]["heads"]
        expected = [torch_head(family, hf_model.config, heads, i)(h).numpy() for i, h in enumerate(states[:-1])]
        expected.append(out.logits.numpy())
    logits, first_tokens = all_exits(model, params, batch)
    np.testing.assert_allclose(np.asarray(logits), np.stack(expected), atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.asarray(first_tokens), np.stack([h[:, 0].numpy() for h in states]), atol=1e-4)
    # The exits differ from each other by far more than the tolerance: a head applied to the wrong layer fails.
    assert np.min(np.abs(np.diff(np.stack(expected), axis=0)).max(axis=(1, 2))) > 1e-2


def test_exit_poolers_start_as_the_models_pooler(tmp_path):
    """DeeBERT's init_highway_pooler: every internal head's pooler is the pretrained pooler at first."""
    import jax

    import plmjax
    from plmjax.early_exit import add_exit_params
    from tests.hf.tiny_models import make_hf_model

    make_hf_model("bert", "classification", num_hidden_layers=3).save_pretrained(tmp_path)
    model, params = plmjax.from_pretrained(str(tmp_path), head="classification", num_labels=3)
    heads = add_exit_params(model, params, jax.random.key(0))["early_exit"]["heads"]
    for name in ("kernel", "bias"):
        stacked = np.asarray(heads["pooler"]["dense"][name])
        assert stacked.shape[0] == num_exits(model) - 1
        np.testing.assert_array_equal(stacked, np.broadcast_to(params["pooler"]["dense"][name], stacked.shape))
    # The classifiers are fresh and distinct from each other.
    out = np.asarray(heads["classifier"]["out"]["kernel"])
    assert not np.allclose(out[0], out[1])


def test_gpt2_classifier_exits_equal_transformers_hidden_states_through_the_same_heads(tiny_classifier):
    """GPT-2's exits read the last non-pad token of each block's output (transformers' hidden_states[1 .. L-1],
    unnormalised) through their own final norm and score; the last exit is transformers' classifier."""
    hf_model, model, params = tiny_classifier("gpt2")
    batch = random_batch("gpt2", rows=6)
    assert (batch["input_ids"] == 0).any()  # padded rows: the classifier reads each row's own last token
    ids = torch.from_numpy(batch["input_ids"]).long()
    last = (torch.arange(ids.shape[1]) * (ids != 0)).argmax(-1)  # transformers' rule: the last non-pad token
    blocks = []
    hook = hf_model.transformer.h[-1].register_forward_hook(lambda module, args, output: blocks.append(output))
    with torch.no_grad():
        out = hf_model(input_ids=ids, attention_mask=torch.from_numpy(batch["attention_mask"]).long(),
                       output_hidden_states=True)  # fmt: skip
    hook.remove()
    final_block = blocks[0][0] if isinstance(blocks[0], tuple) else blocks[0]  # before ln_f
    states = [*out.hidden_states[1:-1], final_block]
    assert len(states) == num_exits(model) == 4
    heads = params["early_exit"]["heads"]
    expected = []
    with torch.no_grad():
        for i, h in enumerate(states[:-1]):
            norm = torch.nn.LayerNorm(h.shape[-1], eps=hf_model.config.layer_norm_epsilon)
            norm.weight.copy_(torch.from_numpy(np.asarray(heads["final_norm"]["scale"][i])))
            norm.bias.copy_(torch.from_numpy(np.asarray(heads["final_norm"]["bias"][i])))
            score = torch.from_numpy(np.asarray(heads["score"]["kernel"][i]))
            expected.append((norm(h[torch.arange(len(ids)), last]) @ score).numpy())
        expected.append(out.logits.numpy())
    logits, first_tokens = all_exits(model, params, batch)
    np.testing.assert_allclose(np.asarray(logits), np.stack(expected), atol=1e-4, rtol=0)
    reads = np.stack([h[torch.arange(len(ids)), last].numpy() for h in states])
    np.testing.assert_allclose(np.asarray(first_tokens), reads, atol=1e-4)
    assert np.min(np.abs(np.diff(np.stack(expected), axis=0)).max(axis=(1, 2))) > 1e-2


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_exits_reading_the_mean_of_the_real_tokens_equal_transformers_states_through_the_same_heads(
    tiny_classifier, family
):
    """reads="mean": each internal head reads the mean of its layer's real tokens (padding excluded) as its
    one token; the final exit is still the model's own classifier."""
    hf_model, model, params = tiny_classifier(family)
    batch = random_batch(family, rows=6)
    mask = torch.from_numpy(batch["attention_mask"]).float()
    with torch.no_grad():
        out = hf_model(**{k: torch.from_numpy(v).long() for k, v in batch.items()}, output_hidden_states=True)
        means = [(h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True) for h in out.hidden_states[1:]]
        heads = params["early_exit"]["heads"]
        expected = []
        for i, mean in enumerate(means[:-1]):
            if family == "bert":
                expected.append(torch_head("bert", hf_model.config, heads, i)(mean[:, None]).numpy())
            else:
                norm = torch.nn.LayerNorm(mean.shape[-1], eps=hf_model.config.layer_norm_epsilon)
                norm.weight.copy_(torch.from_numpy(np.asarray(heads["final_norm"]["scale"][i])))
                norm.bias.copy_(torch.from_numpy(np.asarray(heads["final_norm"]["bias"][i])))
                expected.append((norm(mean) @ torch.from_numpy(np.asarray(heads["score"]["kernel"][i]))).numpy())
        expected.append(out.logits.numpy())
    logits, first_tokens = all_exits(model, params, batch, reads="mean")
    np.testing.assert_allclose(np.asarray(logits), np.stack(expected), atol=1e-4, rtol=0)
    # The confidence predictor reads the means too (the last one: GPT-2's hidden_states[-1] is after ln_f).
    np.testing.assert_allclose(np.asarray(first_tokens[:-1]), np.stack([m.numpy() for m in means[:-1]]), atol=1e-4)
    # Reading the mean is not reading [CLS] (or the last token): the internal logits differ.
    classifier_logits, _ = all_exits(model, params, batch)
    assert np.abs(np.asarray(classifier_logits[:-1]) - np.asarray(logits[:-1])).max() > 1e-2
