"""Pretraining losses, one module per objective; each splits its loss into (loss_sum, count) terms so a
trainer can take exact means over micro-batches and devices (see base.py)."""

from plmjax.objectives.base import Objective, ratios, total_loss
from plmjax.objectives.bilm import BidirectionalLM
from plmjax.objectives.causal_lm import CausalLM
from plmjax.objectives.classification import Classification
from plmjax.objectives.distillation import Distillation, student_from_teacher
from plmjax.objectives.electra import Electra, export_params, generator_config
from plmjax.objectives.mlm import MaskedLM
from plmjax.objectives.permutation_lm import PermutationLM
from plmjax.objectives.sentence_relation import MaskedLMWithSentenceRelation, SentenceRelation
from plmjax.objectives.seq2seq import Seq2SeqLM
from plmjax.objectives.translation import AttentionalTranslation

__all__ = [
    "AttentionalTranslation",
    "BidirectionalLM",
    "CausalLM",
    "Classification",
    "Distillation",
    "Electra",
    "MaskedLM",
    "MaskedLMWithSentenceRelation",
    "Objective",
    "PermutationLM",
    "SentenceRelation",
    "Seq2SeqLM",
    "export_params",
    "generator_config",
    "ratios",
    "student_from_teacher",
    "total_loss",
]
