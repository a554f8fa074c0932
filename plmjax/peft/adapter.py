"""Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021): a small residual MLP inside each layer.

adapter(h) = h + up(act(down(h))), down: hidden -> size, up: size -> hidden. It sits on a residual branch's
output, before the branch is added back (and, in post-norm layers, before that sum is normalised): Houlsby
after the attention and after the feed-forward block, Pfeiffer after the feed-forward block only. Both
projections start from N(0, init_std): a near-identity map, so the adapted model starts near the base one.
"""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.config import TransformerConfig
from plmjax.peft.method_spec import NORMS, MethodSpec

# Which residual branches carry an adapter, by kind.
SITES = {"houlsby": ("attention", "mlp"), "pfeiffer": ("mlp",)}


def has_adapter(config: TransformerConfig, site: str) -> bool:
    """Whether the branch named site ("attention" or "mlp") of every layer ends with an adapter."""
    return site in SITES.get(config.peft.adapter, ())


class BottleneckAdapter(nn.Module):
    config: TransformerConfig

    @nn.compact
    def __call__(self, h):
        c, p = self.config, self.config.peft
        init = nn.initializers.normal(p.adapter_init_std)

        def projection(features, axes, name):
            return nn.Dense(
                features,
                dtype=c.compute_dtype,
                param_dtype=jnp.float32,
                kernel_init=nn.with_logical_partitioning(init, axes),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), axes[-1:]),
                name=name,
            )

        bottleneck = activation(p.adapter_activation)(projection(p.adapter_size, ("embed", "adapter"), "down")(h))
        return h + projection(c.hidden_size, ("adapter", "embed"), "up")(bottleneck)


def adapt(config: TransformerConfig, site: str, h, name: str):
    """h through the adapter of this site when the config places one there, else h itself."""
    return BottleneckAdapter(config, name=name)(h) if has_adapter(config, site) else h


def _method(kind: str, activation_name: str, train_norms: bool):
    def config_changes(config, options) -> dict:
        size = options["size"] or config.hidden_size // int(options["reduction_factor"])
        activation(options["activation"])  # fails early on an unknown name
        return dict(
            adapter=kind,
            adapter_size=int(size),
            adapter_activation=options["activation"],
            adapter_init_std=float(options["init_std"]),
        )

    def trainable(options) -> list[str]:
        return [r".*/(attention|mlp)_adapter/.*"] + ([NORMS] if options["train_norms"] else [])

    sites = " and ".join(SITES[kind])
    return MethodSpec(
        name=kind,
        summary=f"bottleneck adapters after the {sites} block(s); size or hidden_size // reduction_factor",
        # adapter-transformers' defaults: reduction factor 16, swish (Houlsby) / relu (Pfeiffer).
        defaults=dict(size=0, reduction_factor=16, activation=activation_name, init_std=1e-2, train_norms=train_norms),
        config_changes=config_changes,
        trainable=trainable,
    )


# Houlsby et al. train the layer norms along with the adapters; Pfeiffer et al. the adapters only.
HOULSBY = _method("houlsby", "swish", train_norms=True)
PFEIFFER = _method("pfeiffer", "relu", train_norms=False)
