"""Layer-wise probing of frozen encoders: per-layer features, a probe per layer trained in one jitted program,
and control tasks for selectivity (docs/probing.md)."""

from plmjax.probing.control import control_labels, selectivity
from plmjax.probing.evaluate import layer_accuracy, probe_with_control, standardize
from plmjax.probing.features import FEATURE_KINDS, layer_features, layer_features_of_ids
from plmjax.probing.probes import PROBE_KINDS, fit_probes, predict_probes
from plmjax.probing.words import word_token_positions

__all__ = [
    "FEATURE_KINDS",
    "PROBE_KINDS",
    "control_labels",
    "fit_probes",
    "layer_accuracy",
    "layer_features",
    "layer_features_of_ids",
    "predict_probes",
    "probe_with_control",
    "selectivity",
    "standardize",
    "word_token_positions",
]
