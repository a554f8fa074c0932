"""MLM logits at chosen positions only (original BERT's max_predictions_per_seq)."""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models import EncoderModel, init_params, preset


def test_masked_positions_select_the_same_logits_and_gradients():
    config = preset("bert-base", vocab_size=101, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=48)
    model = EncoderModel(config, head="mlm")
    params = init_params(model, jax.random.key(0))
    ids = jax.random.randint(jax.random.key(1), (2, 9), 1, 101)
    positions = jnp.array([[0, 4, 8], [2, 3, 3]])  # repeats are allowed
    labels = jnp.array([[7, 8, 9], [10, 11, 12]])

    full = model.apply({"params": params}, ids).logits
    picked = model.apply({"params": params}, ids, masked_positions=positions).logits
    assert picked.shape == (2, 3, 101)
    np.testing.assert_allclose(picked, jnp.take_along_axis(full, positions[..., None], axis=1), atol=1e-6)

    def loss(p, masked):
        if masked:
            logits = model.apply({"params": p}, ids, masked_positions=positions).logits
        else:
            logits = jnp.take_along_axis(model.apply({"params": p}, ids).logits, positions[..., None], axis=1)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[..., None], axis=-1))

    grads = [jax.grad(loss)(params, masked) for masked in (True, False)]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), *grads)
