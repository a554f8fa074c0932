"""PET's and iPET's arithmetic (Schick & Schütze 2021), in numpy (float64): the ensemble's soft labels, and the
class-balanced sets of newly labeled examples each iPET model trains on in the next generation.

Ported from timoschick/pet: pet/modeling.py (merge_logits_lists, train_ipet, generate_ipet_train_sets,
generate_ipet_train_set, _draw_examples_by_label_probability), pet/utils.py (softmax, eq_div) and cli.py (the
defaults: T = 2, d = 5, lambda = 0.25). "Models" are all of a generation's PVP models (PET trains several per
PVP); their logits are the PVPs' class logits on the unlabeled set, [models, examples, classes].
"""

import numpy as np

TEMPERATURE = 2.0  # PET's --temperature: softens the ensemble's targets for the final classifier
SCALE_FACTOR = 5.0  # d: iPET multiplies the training set size by d each generation
LABELER_SHARE = 0.25  # lambda: the share of the other models that label a model's next training set


def pvp_weights(train_accuracies, weighting: str = "train_accuracy") -> np.ndarray:
    """Each model's ensemble weight: "train_accuracy" (PET's default "wmean"), its accuracy on the labeled set
    before training (PET measures it on the original labeled set, in every iPET generation too); "uniform"
    (PET's "mean"), 1."""
    accuracies = np.asarray(train_accuracies, np.float64)
    if weighting == "uniform":
        return np.ones_like(accuracies)
    if weighting == "train_accuracy":
        return accuracies
    raise ValueError(f"weighting {weighting!r}: use 'uniform' or 'train_accuracy'")


def merge_logits(logits, weights) -> np.ndarray:
    """sum_p w_p s_p / sum_p w_p over the models: [models, examples, classes] -> [examples, classes]."""
    weights = np.asarray(weights, np.float64)
    if weights.sum() <= 0:  # np.average would divide by zero (every model 0% accurate before training)
        raise ValueError(f"the ensemble weights {weights.tolist()} do not sum to a positive number")
    return np.average(np.asarray(logits, np.float64), axis=0, weights=weights)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) over the last axis."""
    scaled = np.asarray(logits, np.float64) / temperature
    exp = np.exp(scaled - scaled.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def soft_labels(logits, weights, temperature: float = TEMPERATURE) -> np.ndarray:
    """The final classifier's targets, softmax(sum_p w_p s_p / sum_p w_p / T): [examples, classes].

    PET stores the merged logits and applies softmax(. / T) inside its distillation loss; the targets are the
    same (plmjax.objectives.soft_targets takes these probabilities, with the same T)."""
    return softmax(merge_logits(logits, weights), temperature)


def new_example_count(train_size: int, generation: int, scale_factor: float = SCALE_FACTOR) -> int:
    """How many newly labeled examples each model of iPET generation j >= 1 gets: int(|T| d^j - |T|), so that
    its training set holds |T| d^j examples (PET's zero-shot case, |T| = 0: int(10 / d * d^j))."""
    if generation < 1:
        raise ValueError(f"generation {generation}: iPET's labeled generations start at 1 (0 trains on T alone)")
    original_size = train_size if train_size else 10 / scale_factor
    return int(original_size * scale_factor**generation - train_size)


def examples_per_class(train_labels, num_classes: int, generation: int, scale_factor: float = SCALE_FACTOR):
    """[classes] new examples per class in generation j: the labeled set's class counts c_l times
    new_example_count / |T|, each rounded down (an even split when there are no labels)."""
    train_labels = np.asarray(train_labels, np.int64)
    new = new_example_count(len(train_labels), generation, scale_factor)
    if len(train_labels) == 0:  # PET's eq_div
        return np.array([new // num_classes + (c < new % num_classes) for c in range(num_classes)], np.int64)
    multiplier = new / len(train_labels)
    return np.array([int(int(c) * multiplier) for c in np.bincount(train_labels, minlength=num_classes)], np.int64)


def pick_labelers(model: int, num_models: int, rng: np.random.Generator, share: float = LABELER_SHARE):
    """round(lambda (n - 1)) of the other models, drawn without replacement: they label `model`'s next set."""
    others = np.array([m for m in range(num_models) if m != model], np.int64)
    count = round(len(others) * share)  # Python's round (half to even), as PET
    if count == 0:
        raise ValueError(f"round({len(others)} other models * {share}) = 0: no model would label the next set")
    return rng.choice(others, size=count, replace=False)


def draw_examples(probs, per_class, rng: np.random.Generator, most_likely: int | None = None):
    """(indices into the unlabeled set, their labels) of one model's new examples, class by class.

    probs: the labelers' class probabilities [examples, classes]. Class l draws per_class[l] examples without
    replacement among those predicted l, with probability proportional to p(l | x); when there are too few,
    the candidates repeat whole (PET's upsampling), so one example may be drawn more than once. When none is
    predicted l (PET would loop forever), every example is a candidate, drawn with probability ∝ p(l | x).
    most_likely: PET's n_most_likely; the candidates of class l are instead the most_likely examples of
    highest p(l | x), whatever their prediction (ties: the later example first)."""
    probs = np.asarray(probs, np.float64)
    predicted = probs.argmax(-1)
    indices, labels = [], []
    for label, needed in enumerate(int(n) for n in per_class):
        if most_likely is None:
            candidates = np.flatnonzero(predicted == label)
            if candidates.size:
                candidates = np.tile(candidates, max(1, -(-needed // candidates.size)))
                candidate_weights = probs[candidates].max(-1)
            else:
                # No example is predicted as this class: PET loops forever here. plmjax draws from every example
                # with probability proportional to p(label | x) instead (weak models predicting one class).
                candidates = np.tile(np.arange(len(probs)), max(1, -(-needed // len(probs))))
                candidate_weights = probs[candidates, label]
        else:
            order = np.lexsort((np.arange(len(probs)), probs[:, label]))[::-1]
            candidates = order[:most_likely]
            candidate_weights = probs[candidates, label]
        if needed == 0:
            continue
        chosen = rng.choice(candidates.size, size=needed, replace=False, p=candidate_weights / candidate_weights.sum())
        indices.append(candidates[chosen])
        labels.append(np.full(needed, label, np.int64))
    if not indices:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(indices), np.concatenate(labels)


def ipet_train_sets(
    logits,
    weights,
    train_labels,
    generation: int,
    seed: int,
    share: float = LABELER_SHARE,
    scale_factor: float = SCALE_FACTOR,
    most_likely: int | None = None,
):
    """For each model of generation j - 1, the new examples of its successor in generation j >= 1: a list of
    (indices into the unlabeled set, labels). The successor trains (from the pretrained model) on the labeled
    set plus these, with these hard labels.

    logits: generation j - 1's class logits on the unlabeled set [models, examples, classes]; weights: their
    pvp_weights. Each model's labelers (pick_labelers) merge their logits (merge_logits) and softmax them at
    T = 1 (PET's iPET labels are not tempered); draw_examples then takes examples_per_class of them. One
    default_rng(seed) serves every model in turn; PET reseeds every generation with the same seed.
    most_likely: PET's n_most_likely, which PET uses in generation 1 only."""
    logits, weights = np.asarray(logits, np.float64), np.asarray(weights, np.float64)
    if most_likely is not None and (generation != 1 or most_likely < 1):
        raise ValueError(f"most_likely={most_likely}: PET's n_most_likely is a positive count, for generation 1 only")
    per_class = examples_per_class(train_labels, logits.shape[-1], generation, scale_factor)
    rng = np.random.default_rng(seed)
    sets = []
    for model in range(len(logits)):
        labelers = pick_labelers(model, len(logits), rng, share)
        probs = softmax(merge_logits(logits[labelers], weights[labelers]))
        sets.append(draw_examples(probs, per_class, rng, most_likely))
    return sets
