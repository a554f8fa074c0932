"""Early exit: a classifier after every layer, criteria that decide where each example stops (entropy,
patience, a learned confidence predictor), and inference that really stops there. docs/early_exit.md."""

from plmjax.early_exit.criteria import CRITERIA, Criterion, CriterionError, make_criterion, simulate
from plmjax.early_exit.heads import EARLY_EXIT, MissingExitHeadsError, add_exit_params, num_exits
from plmjax.early_exit.inference import ExitResult, exit_batched, exit_one
from plmjax.early_exit.layerwise import all_confidences, all_exits
from plmjax.early_exit.objective import SCHEMES, EarlyExit

__all__ = [
    "CRITERIA",
    "EARLY_EXIT",
    "SCHEMES",
    "Criterion",
    "CriterionError",
    "EarlyExit",
    "ExitResult",
    "MissingExitHeadsError",
    "add_exit_params",
    "all_confidences",
    "all_exits",
    "exit_batched",
    "exit_one",
    "make_criterion",
    "num_exits",
    "simulate",
]
