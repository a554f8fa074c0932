"""Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021): a small residual MLP inside each layer.

adapter(h) = h + up(act(down(h))), down: hidden -> size, up: size -> hidden. It sits on a residual branch's
output, before the branch is added back (and, in post-norm layers, before that sum is normalised): Houlsby
after the attention and after the feed-forward block, Pfeiffer after the feed-forward block only. Both
projections start from N(0, init_std): a near-identity map, so the adapted model starts near the base one.
No HF-PEFT form (peft has no bottleneck adapters): they save with plmjax.peft.save.
"""

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.config import TransformerConfig
from plmjax.models.hooks import MethodHooks
from plmjax.peft.method import NORMS, MethodSpec

# Which residual branches carry an adapter, by kind.
SITES = {"houlsby": ("attention", "mlp"), "pfeiffer": ("mlp",)}


class BottleneckAdapter(nn.Module):
    config: TransformerConfig
    size: int
    activation: str
    init_std: float

    @nn.compact
    def __call__(self, h):
        c = self.config
        init = nn.initializers.normal(self.init_std)

        def projection(features, axes, name):
            return nn.Dense(
                features,
                dtype=c.compute_dtype,
                param_dtype=jnp.float32,
                kernel_init=nn.with_logical_partitioning(init, axes),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), axes[-1:]),
                name=name,
            )

        bottleneck = activation(self.activation)(projection(self.size, ("embed", "adapter"), "down")(h))
        return h + projection(c.hidden_size, ("adapter", "embed"), "up")(bottleneck)


@dataclasses.dataclass(frozen=True)
class Adapters(MethodHooks):
    """kind: "houlsby" or "pfeiffer" (SITES)."""

    name: ClassVar[str] = "adapters"

    kind: str = "houlsby"
    size: int = 64
    activation: str = "relu"
    init_std: float = 1e-2

    def __post_init__(self):
        if self.kind not in SITES:
            raise ValueError(f"adapter kind={self.kind!r}; choose one of {sorted(SITES)}")
        activation(self.activation)  # fails early on an unknown name

    def after_branch(self, layer, site, h):
        if site not in SITES[self.kind]:
            return h
        return BottleneckAdapter(layer.config, self.size, self.activation, self.init_std, name=f"{site}_adapter")(h)


def _method(kind: str, activation_name: str, train_norms: bool) -> MethodSpec:
    def settings(config, options) -> Adapters:
        size = options["size"] or config.hidden_size // int(options["reduction_factor"])
        return Adapters(kind, int(size), options["activation"], float(options["init_std"]))

    def trainable(options) -> list[str]:
        return [r".*/(attention|mlp)_adapter/.*"] + ([NORMS] if options["train_norms"] else [])

    sites = " and ".join(SITES[kind])
    return MethodSpec(
        name=kind,
        summary=f"bottleneck adapters after the {sites} block(s); size or hidden_size // reduction_factor",
        # adapter-transformers' defaults: reduction factor 16, swish (Houlsby) / relu (Pfeiffer).
        defaults=dict(size=0, reduction_factor=16, activation=activation_name, init_std=1e-2, train_norms=train_norms),
        settings=settings,
        trainable=trainable,
        settings_class=Adapters,
        param_names=("attention_adapter", "mlp_adapter"),
        logical_axes=("adapter",),
        recipe=(5e-4, dict(size=64)),
    )


# Houlsby et al. train the layer norms along with the adapters; Pfeiffer et al. the adapters only.
METHODS = (_method("houlsby", "swish", train_norms=True), _method("pfeiffer", "relu", train_norms=False))
