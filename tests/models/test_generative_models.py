"""GPT-2, BART and T5 models: logical axes on every parameter, causal decoders, published sizes."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.models import preset
from plmjax.models.init import abstract_params, init_params
from plmjax.models.model_classes import HEADS_BY_FAMILY, build_model

TINY = dict(vocab_size=99, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=37)
TINY_PRESETS = {"gpt2": "gpt2", "bart": "bart-base", "t5": "t5-small", "t5-v1_1": "t5-v1_1-small"}


def tiny(name, **changes):
    overrides = dict(TINY, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, embedding_dropout=0.0)
    if name != "gpt2":
        overrides["num_decoder_layers"] = 3
    return preset(TINY_PRESETS[name], **(overrides | changes))


CASES = [(name, head) for name in TINY_PRESETS for head in HEADS_BY_FAMILY[tiny(name).family]]


@pytest.mark.parametrize(("name", "head"), CASES)
def test_every_parameter_has_logical_axes(name, head):
    boxed = abstract_params(build_model(tiny(name), head), boxed=True)
    leaves = jax.tree.leaves(boxed, is_leaf=lambda x: isinstance(x, nn.LogicallyPartitioned))
    assert leaves
    for leaf in leaves:
        assert isinstance(leaf, nn.LogicallyPartitioned), leaf
        assert len(leaf.names) == leaf.value.ndim and all(leaf.names), leaf.names


@pytest.mark.parametrize(
    ("name", "size"), [("gpt2", 124_439_808), ("bart-base", 139_470_681), ("t5-small", 60_506_624)]
)
def test_presets_have_the_published_sizes(name, size):
    # transformers' parameter counts of GPT2LMHeadModel, BartForConditionalGeneration (+ final_logits_bias)
    # and T5ForConditionalGeneration with these configs.
    params = abstract_params(build_model(preset(name), "lm"))
    assert sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params)) == size


def test_gpt2_is_causal():
    model = build_model(tiny("gpt2"), "lm")
    params = init_params(model, jax.random.key(0))
    ids = jnp.arange(3, 13)[None]
    apply = jax.jit(model.apply)
    logits = apply({"params": params}, ids).logits
    changed = apply({"params": params}, ids.at[0, 6].set(50)).logits
    np.testing.assert_array_equal(logits[:, :6], changed[:, :6])
    assert not np.allclose(logits[:, 6:], changed[:, 6:])


@pytest.mark.parametrize("name", ["bart", "t5", "t5-v1_1"])
def test_seq2seq_decoder_is_causal_and_reads_the_encoder(name):
    model = build_model(tiny(name), "lm")
    params = init_params(model, jax.random.key(0))
    ids, decoder_ids = jnp.arange(3, 13)[None], jnp.arange(20, 28)[None]

    @jax.jit
    def logits(ids, decoder_ids):
        return model.apply({"params": params}, ids, decoder_input_ids=decoder_ids).logits

    reference = logits(ids, decoder_ids)
    later_changed = logits(ids, decoder_ids.at[0, 5].set(50))
    np.testing.assert_allclose(reference[:, :5], later_changed[:, :5], atol=1e-6)
    assert not np.allclose(reference, logits(ids.at[0, 9].set(50), decoder_ids))


def test_decoder_inputs_default_to_the_inputs_shifted_right():
    model = build_model(tiny("bart"), "lm")
    params = init_params(model, jax.random.key(0))
    ids = jnp.array([[0, 5, 6, 7, 2]])
    shifted = jnp.array([[2, 0, 5, 6, 7]])  # BART starts decoding with EOS
    apply = jax.jit(model.apply)
    np.testing.assert_allclose(
        apply({"params": params}, ids).logits,
        apply({"params": params}, ids, decoder_input_ids=shifted).logits,
        atol=1e-6,
    )


def test_unknown_head_is_an_error_listing_the_choices():
    with pytest.raises(ValueError, match="not available for t5"):
        build_model(tiny("t5"), "classification")


@pytest.mark.parametrize("name", ["gpt2", "bart", "t5-v1_1"])
def test_cached_decoding_matches_the_full_forward(name):
    """A prompt (or decoder start) then one token at a time through the key/value cache gives the logits of
    one full forward pass over the same tokens."""
    model = build_model(tiny(name), "lm")
    params = init_params(model, jax.random.key(0))
    tokens = jnp.array([[5, 9, 14, 3, 27, 8, 40], [6, 7, 19, 22, 31, 2, 11]])
    cache_length, prompt = tokens.shape[1] + 2, 3  # spare slots stay masked
    cache_mask = jnp.ones((2, cache_length), jnp.int32)
    if model.config.is_encoder_decoder:
        source = jnp.array([[10, 11, 12, 13, 0], [14, 15, 16, 0, 0]])
        source_mask = (source != 0).astype(jnp.int32)
        encoded = model.apply({"params": params}, source, source_mask, method="encode")
        full = model.apply({"params": params}, source, source_mask, decoder_input_ids=tokens).logits

        @jax.jit
        def run(chunk, offset, cache):
            variables = {"params": params} | ({"cache": cache} if cache is not None else {})
            out, updated = model.apply(
                variables,
                chunk,
                encoded,
                source_mask,
                cache_mask,
                cache_offset=offset,
                method="decode",
                mutable=["cache"],
            )
            return out.logits, updated["cache"]
    else:
        full = model.apply({"params": params}, tokens).logits

        @jax.jit
        def run(chunk, offset, cache):
            variables = {"params": params} | ({"cache": cache} if cache is not None else {})
            out, updated = model.apply(variables, chunk, cache_mask, cache_offset=offset, mutable=["cache"])
            return out.logits, updated["cache"]

    logits, cache = run(tokens[:, :prompt], jnp.int32(0), None)
    pieces = [logits]
    for position in range(prompt, tokens.shape[1]):
        logits, cache = run(tokens[:, position : position + 1], jnp.int32(position), cache)
        pieces.append(logits)
    np.testing.assert_allclose(jnp.concatenate(pieces, axis=1), full, atol=1e-5, rtol=1e-5)


def test_remat_changes_nothing_but_memory():
    config = tiny("t5-v1_1")
    ids, decoder_ids = jnp.arange(3, 13)[None], jnp.arange(20, 28)[None]
    losses = []
    for remat in (False, True):
        model = build_model(config.replace(remat=remat), "lm")
        params = init_params(model, jax.random.key(0))

        def loss(p, model=model):
            return model.apply({"params": p}, ids, decoder_input_ids=decoder_ids).logits.mean()

        losses.append(jax.jit(jax.value_and_grad(loss))(params))
    np.testing.assert_allclose(losses[0][0], losses[1][0], rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), losses[0][1], losses[1][1])
