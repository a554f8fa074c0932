"""XLNet imported from a tiny random transformers model gives transformers' outputs: a padded batch with token
types, a factorisation order (perm_mask) and the query stream (target_mapping), the content stream alone, and a
second segment over the first one's memory. Export then re-import is exact; transformers loads the export."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers

import plmjax
from plmjax.models.segment_memory import SegmentMemory
from tests.hf.checkpoint_checks import assert_reimport_is_exact

TOL = 1e-4
TINY = dict(vocab_size=99, d_model=32, n_layer=2, n_head=4, d_inner=37, dropout=0.0, pad_token_id=0)


def make_xlnet(head, seed=0, **overrides):
    config = transformers.XLNetConfig(**TINY | overrides)
    model = (transformers.XLNetLMHeadModel if head == "lm" else transformers.XLNetModel)(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():  # norms, biases and mask embedding too: a mis-mapped tensor shows
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2 + (param == 1).float())
    return model.eval()


def permutation_inputs(seed=0, batch=2, length=9, predictions=3):
    """A right-padded batch with two segments, a random factorisation order per row, and the last real
    tokens of each row as the predictions (XLNet's partial prediction)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, 99, size=(batch, length))
    mask = np.ones((batch, length), np.float32)
    mask[1, 7:] = 0
    ids[1, 7:] = 0
    types = np.zeros((batch, length), np.int64)
    types[:, 4:] = 1
    perm = np.zeros((batch, length, length), np.float32)
    mapping = np.zeros((batch, predictions, length), np.float32)
    for b in range(batch):
        real = int(mask[b].sum())
        order = rng.permutation(real)
        rank = np.empty(real, int)
        rank[order] = np.arange(real)
        # i may not see j unless j comes earlier in the order; the predicted tokens are hidden from everyone
        perm[b, :real, :real] = rank[None, :] >= rank[:, None]
        targets = order[-predictions:]
        mapping[b, np.arange(predictions), targets] = 1.0
        perm[b, :, targets] = 1.0
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=types, perm_mask=perm, target_mapping=mapping)


def hf_run(model, inputs, **extra):
    with torch.no_grad():
        return model(**{k: torch.tensor(v) for k, v in inputs.items()}, **extra)


@pytest.mark.parametrize("head", ["lm", None])
def test_import_matches_transformers_and_export_round_trips(head, tmp_path):
    reference = make_xlnet(head)
    reference.save_pretrained(tmp_path / "hf")
    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head=head)
    apply = jax.jit(model.apply)
    field = "logits" if head == "lm" else "last_hidden_state"
    inputs = permutation_inputs()
    ours = apply({"params": params}, **inputs)
    theirs = hf_run(reference, inputs)
    assert getattr(ours, field).shape[1] == 3  # one output per prediction: the query stream
    np.testing.assert_allclose(np.asarray(getattr(ours, field)), theirs[field].numpy(), atol=TOL, rtol=0)
    # Without a target mapping there is no query stream: the content stream's outputs at every position.
    content = {k: v for k, v in inputs.items() if k not in ("perm_mask", "target_mapping")}
    ours_content = apply({"params": params}, **content)
    np.testing.assert_allclose(
        np.asarray(getattr(ours_content, field)), hf_run(reference, content)[field].numpy(), atol=TOL, rtol=0
    )

    plmjax.save_pretrained(model, params, str(tmp_path / "export"))
    cls = type(reference)
    reloaded, info = cls.from_pretrained(str(tmp_path / "export"), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    again = hf_run(reloaded.eval(), inputs)
    np.testing.assert_allclose(np.asarray(getattr(ours, field)), again[field].numpy(), atol=TOL, rtol=0)
    assert_reimport_is_exact(tmp_path / "export", model, params, head)


def test_second_segment_over_the_first_ones_memory(tmp_path):
    """Transformer-XL's recurrence in XLNet: the second segment attends to the first one's cached states."""
    reference = make_xlnet("lm", seed=1, mem_len=9)
    reference.save_pretrained(tmp_path / "hf")
    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head="lm", memory_length=9)
    apply = jax.jit(model.apply)
    first, second = permutation_inputs(seed=1), permutation_inputs(seed=2)
    del first["target_mapping"], first["perm_mask"], first["attention_mask"], second["attention_mask"]
    hf_first = hf_run(reference, first, use_mems=True)
    hf_second = hf_run(reference, second, mems=hf_first.mems, use_mems=True)
    ours_first = apply({"params": params}, **first)
    ours_second = apply({"params": params}, **second, memory=ours_first.memory)
    np.testing.assert_allclose(np.asarray(ours_second.logits), hf_second.logits.numpy(), atol=TOL, rtol=0)
    for ours_state, hf_state in zip(ours_first.memory.states, hf_first.mems, strict=True):
        np.testing.assert_allclose(np.asarray(ours_state), hf_state.permute(1, 0, 2).numpy(), atol=TOL, rtol=0)
    # The memory matters: an all-masked one gives other logits.
    masked = SegmentMemory(ours_first.memory.states, jnp.zeros_like(ours_first.memory.mask))
    assert (
        np.abs(np.asarray(apply({"params": params}, **second, memory=masked).logits - ours_second.logits)).max() > 1e-3
    )


def test_unsupported_configs_are_refused(tmp_path):
    for key, value in (("attn_type", "uni"), ("bi_data", True), ("same_length", True)):
        reference = make_xlnet(None, **{key: value})
        reference.save_pretrained(tmp_path / key)
        with pytest.raises(ValueError, match=key):
            plmjax.from_pretrained(str(tmp_path / key))


def test_permutation_lm_loss_equals_transformers_loss(tmp_path):
    """The objective's loss on a collated batch is XLNetLMHeadModel's loss with the same perm_mask,
    target_mapping and labels (weight-0 predictions as -100)."""
    from plmjax.data.pretraining.permutation import PermutationLmCollator
    from plmjax.objectives import PermutationLM

    reference = make_xlnet("lm", seed=3)
    reference.save_pretrained(tmp_path / "hf")
    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head="lm")
    rows = [list(np.random.default_rng(4).integers(3, 99, size=12)), list(range(40, 49))]
    batch = PermutationLmCollator(12, 0, 4, batch_size=2)(rows, np.random.default_rng(5))
    loss = PermutationLM(model).loss(params, {k: jnp.asarray(v) for k, v in batch.items()})
    labels = np.where(batch["target_weights"] > 0, batch["target_ids"], -100)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "perm_mask", "target_mapping")}
    theirs = hf_run(reference, inputs, labels=torch.tensor(labels, dtype=torch.long))
    np.testing.assert_allclose(float(loss), float(theirs.loss), atol=1e-5, rtol=0)
