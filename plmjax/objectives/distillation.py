"""DistilBERT knowledge distillation: a half-depth student initialised from the teacher, trained on the
teacher's softened MLM distribution, the MLM labels and the teacher's last hidden states.

params = {"student": ..., "teacher": ...}; the teacher is frozen (the trainer's rules freeze `teacher/.*`) and
runs deterministically under stop_gradient. Batch: the MLM keys, attention_mask, weights.
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

from plmjax.models import init_params
from plmjax.models.init import abstract_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, real_token_weights
from plmjax.objectives.mlm import encoder_outputs, mlm_targets


def student_from_teacher(teacher_model, teacher_params, layers=None, **config_overrides):
    """(student model, student params): the teacher's architecture with len(layers) layers, student layer i
    copied from teacher layer layers[i], everything else (embeddings, heads) copied as is.

    layers: default every other layer, 0, 2, 4, ... (HF's DistilBERT extraction script took
    [0, 2, 4, 7, 9, 11] of BERT-base). config_overrides change other fields (e.g. family="distilbert",
    type_vocab_size=0); every student parameter must then still have a teacher counterpart of its shape.
    """
    config = teacher_model.config
    if config.is_encoder_decoder:
        raise ValueError("student_from_teacher supports encoder and decoder-only models, not encoder-decoders")
    if config.hidden_groups != config.num_layers or config.inner_group_num != 1:
        raise ValueError("the teacher shares weights across layers (ALBERT); there are no layers to pick from")
    layers = tuple(range(0, config.num_layers, 2)) if layers is None else tuple(layers)
    student = type(teacher_model)(
        config.replace(num_layers=len(layers), **config_overrides),
        head=teacher_model.head,
        num_labels=teacher_model.num_labels,
    )
    return student, copy_teacher_params(student, teacher_params, layers, config.num_layers)


def copy_teacher_params(student, teacher_params, layers, teacher_layers: int):
    """Parameters of `student` taken from the teacher's: layer i from teacher layer layers[i], the rest by path."""
    if len(layers) != student.config.num_layers or not all(0 <= i < teacher_layers for i in layers):
        raise ValueError(
            f"layers {tuple(layers)}: need {student.config.num_layers} of teacher layers 0..{teacher_layers - 1}"
        )
    teacher_flat = traverse_util.flatten_dict(teacher_params)
    copied, missing = {}, []
    for path, shape in traverse_util.flatten_dict(abstract_params(student)).items():
        source = path
        if path[0] in ("encoder", "decoder") and path[1].startswith("layers_"):
            source = (path[0], f"layers_{layers[int(path[1].removeprefix('layers_'))]}") + path[2:]
        value = teacher_flat.get(source)
        if value is None or value.shape != shape.shape:
            missing.append("/".join(path))
            continue
        # A copy, not an alias: a train step that donates the student's buffers must not free the teacher's.
        copied[path] = jnp.array(value, dtype=shape.dtype, copy=True)
    if missing:
        raise ValueError(f"student parameters with no teacher counterpart of the same shape: {missing}")
    return traverse_util.unflatten_dict(copied)


@dataclasses.dataclass(frozen=True)
class Distillation(Objective):
    """loss = alpha_ce * ce + alpha_mlm * mlm + alpha_cos * cos, each term a mean:

    ce: KL(softmax(teacher / T) || softmax(student / T)) * T^2 over the MLM-selected positions (as DistilBERT;
        equal to the soft-target cross-entropy up to the teacher's entropy, which has no gradient);
    mlm: the student's MLM cross-entropy over the same positions;
    cos: 1 - cos(student, teacher last hidden states) over real tokens.
    Defaults are DistilBERT's. student, teacher: EncoderModels with head="mlm" and the same hidden size.
    """

    student: object
    teacher: object
    alpha_ce: float = 5.0
    alpha_mlm: float = 2.0
    alpha_cos: float = 1.0
    temperature: float = 2.0
    max_predictions: int | None = None

    def __post_init__(self):
        if self.student.config.hidden_size != self.teacher.config.hidden_size:
            raise ValueError("the cosine loss compares hidden states: student and teacher need one hidden size")

    @property
    def term_weights(self):
        return {"ce": self.alpha_ce, "mlm": self.alpha_mlm, "cos": self.alpha_cos}

    @staticmethod
    def params(student_params, teacher_params):
        return {"student": student_params, "teacher": teacher_params}

    def init(self, rng):
        """A random teacher and the student copied from its layers 0, 2, 4, ... (for tests and smoke runs; real
        runs load the teacher, call student_from_teacher, then Distillation.params)."""
        teacher_params = init_params(self.teacher, rng)
        teacher_layers = self.teacher.config.num_layers
        layers = tuple(range(0, teacher_layers, 2))
        return self.params(copy_teacher_params(self.student, teacher_params, layers, teacher_layers), teacher_params)

    def term_counts(self, batch):
        selected = jnp.sum(mlm_targets(batch, self.max_predictions)[2])
        return {"ce": selected, "mlm": selected, "cos": jnp.sum(real_token_weights(batch))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        positions, labels, weights = mlm_targets(batch, self.max_predictions)
        teacher_params = jax.lax.stop_gradient(params["teacher"])
        taught = encoder_outputs(self.teacher, teacher_params, batch, None, True, positions)
        taught = jax.lax.stop_gradient(taught)
        learnt = encoder_outputs(self.student, params["student"], batch, rng, deterministic, positions)

        t = self.temperature
        student_log_probs = jax.nn.log_softmax(learnt.logits.astype(jnp.float32) / t)
        teacher_log_probs = jax.nn.log_softmax(taught.logits.astype(jnp.float32) / t)
        kl = optax.losses.kl_divergence_with_log_targets(student_log_probs, teacher_log_probs) * t**2
        real = real_token_weights(batch)
        # optax clips squared norms: 1e-16 is the 1e-8 floor torch's cosine_similarity puts on each norm.
        distance = optax.losses.cosine_distance(
            learnt.last_hidden_state.astype(jnp.float32), taught.last_hidden_state.astype(jnp.float32), epsilon=1e-16
        )
        losses = {
            "ce": (jnp.sum(kl * weights), jnp.sum(weights)),
            "mlm": cross_entropy(learnt.logits, labels, weights),
            "cos": (jnp.sum(distance * real), jnp.sum(real)),
        }
        return losses, {"mlm_accuracy": accuracy(learnt.logits, labels, weights)}
