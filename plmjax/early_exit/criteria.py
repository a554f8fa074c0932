"""Exit criteria: when a layer's prediction is final. All three read only what every exit computes (its head's
logits and the confidence predictor's output), so one trained model is evaluated under any of them.

- entropy (DeeBERT): exit at the first layer whose prediction entropy is below S, 0 <= S <= ln(classes).
- patience (PABEE): exit once the prediction has stayed the same for t consecutive layers after the first that
  gave it (t + 1 layers agree), t an integer in 1 .. exits - 1; for regression "the same" is within tolerance.
- confidence (BERxiT's learning to exit): exit at the first layer whose predicted chance of being right is
  above tau, 0 <= tau <= 1.

The last layer always exits. A Criterion is a pytree of traced leaves (which criterion, its threshold), so
every criterion and threshold runs through one compiled program: a sweep compiles once.
"""

import math

import flax.struct
import jax
import jax.numpy as jnp

CRITERIA = ("entropy", "patience", "confidence")


class CriterionError(ValueError):
    """An unknown criterion, or a threshold outside the criterion's range."""


@flax.struct.dataclass
class Criterion:
    kind: int  # the index of its name in CRITERIA
    threshold: float  # entropy S, patience t or confidence tau
    tolerance: float = 0.0  # patience on regression: predictions within it agree

    @property
    def name(self) -> str:
        return CRITERIA[int(self.kind)]


def make_criterion(name: str, threshold: float, num_labels: int, num_exits: int, tolerance: float = 0.0) -> Criterion:
    """A validated Criterion for a model with num_labels outputs (1: regression) and num_exits exits."""
    if name not in CRITERIA:
        raise CriterionError(f"unknown exit criterion {name!r}; criteria: {list(CRITERIA)}")
    if name == "entropy":
        if num_labels == 1:
            raise CriterionError("the entropy criterion needs class probabilities; a regression model has none")
        top = math.log(num_labels)
        if not 0.0 <= threshold <= top:
            raise CriterionError(f"entropy threshold {threshold} is outside [0, ln({num_labels}) = {top:.4f}]")
    if name == "patience" and (threshold != int(threshold) or not 1 <= threshold <= num_exits - 1):
        raise CriterionError(f"patience {threshold} is not an integer in [1, {num_exits - 1}] (exits - 1)")
    if name == "confidence" and not 0.0 <= threshold <= 1.0:
        raise CriterionError(f"confidence threshold {threshold} is outside [0, 1]")
    if tolerance < 0:
        raise CriterionError(f"tolerance {tolerance} is negative")
    return Criterion(CRITERIA.index(name), float(threshold), float(tolerance))


def entropy(logits):
    """Shannon entropy (nats) of softmax(logits) over the last axis."""
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


def prediction(logits):
    """The class (as float32, so regression and classification states share a dtype) or the regressed value."""
    logits = logits.astype(jnp.float32)
    return logits[..., 0] if logits.shape[-1] == 1 else jnp.argmax(logits, axis=-1).astype(jnp.float32)


def initial_state(rows: int):
    """(agreeing layers so far, the previous layer's prediction) per row: patience's memory."""
    return jnp.zeros((rows,), jnp.int32), jnp.zeros((rows,), jnp.float32)


def update(criterion: Criterion, state, layer, logits, confidence):
    """(state, exits [rows]) after exit `layer` (0-based, may be traced) gave logits [rows, classes] and
    confidence [rows]. The caller forces the last layer's exit."""
    count, previous = state
    current = prediction(logits)
    same = jnp.abs(current - previous) <= criterion.tolerance if logits.shape[-1] == 1 else current == previous
    count = jnp.where(same & (layer > 0), count + 1, 0)
    # All three, then the criterion's: its kind is traced (one program for every criterion).
    by_kind = [entropy(logits) < criterion.threshold, count >= criterion.threshold, confidence > criterion.threshold]
    exits = jnp.select([criterion.kind == i for i in range(len(CRITERIA))], by_kind, default=False)
    return (count, current), exits.astype(bool)


def simulate(criterion: Criterion, logits, confidences):
    """(exit layer [rows], 1-based; the exit's logits [rows, classes]) from every exit's logits [exits, rows,
    classes] and confidences [exits, rows]: what exiting inference returns, computed with every layer run."""
    num_exits, rows = logits.shape[:2]

    def step(state, inputs):
        layer, layer_logits, layer_confidence = inputs
        state, exits = update(criterion, state, layer, layer_logits, layer_confidence)
        return state, exits

    _, exits = jax.lax.scan(step, initial_state(rows), (jnp.arange(num_exits), logits, confidences))
    exits = exits.at[-1].set(True)
    first = jnp.argmax(exits, axis=0)
    return first + 1, jnp.take_along_axis(logits, first[None, :, None], axis=0)[0]
