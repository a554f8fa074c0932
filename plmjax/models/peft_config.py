"""Which parameter-efficient modules a model has. Everything is off by default; a method turned on adds its
parameters next to the base ones and leaves every base parameter's path and shape as it was.

plmjax.peft.apply sets these fields; the models read them. Regexes match whole "/"-joined parameter paths
(re.fullmatch), as the PEFT rule engine does.
"""

import dataclasses
import functools
import math
import re

ADAPTER_KINDS = ("", "houlsby", "pfeiffer")
PROMPT_ENCODERS = ("", "mlp", "lstm")
PROMPT_PLACEMENTS = ("prefix", "template")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


@dataclasses.dataclass(frozen=True)
class PeftConfig:
    # LoRA: y = x W + b + scale * dropout(x) A B on the kernels whose path matches lora_targets ("" = off).
    lora_targets: str = ""
    lora_rank: int = 8
    lora_alpha: float = 8.0
    lora_dropout: float = 0.0
    # rsLoRA scales by alpha / sqrt(rank) instead of alpha / rank.
    lora_rslora: bool = False

    # IA3: a learned vector scales the output of the kernels matching ia3_targets, or their input for those
    # that also match ia3_input_targets (the feed-forward output projection: its input is the activation).
    ia3_targets: str = ""
    ia3_input_targets: str = ""

    # Bottleneck adapters h + up(act(down(h))): "houlsby" after the attention and the feed-forward blocks,
    # "pfeiffer" after the feed-forward block only.
    adapter: str = ""
    adapter_size: int = 64
    adapter_activation: str = "relu"
    adapter_init_std: float = 1e-2

    # Prefix tuning: prefix_length learned keys and values in front of every self-attention layer's own.
    prefix_length: int = 0
    # > 0: the prefixes come from an MLP (embedding -> hidden -> every layer's keys and values), folded away
    # into plain per-layer prefixes after training (plmjax.peft.fold).
    prefix_hidden_size: int = 0

    # Prompt tuning / P-tuning: prompt_length soft tokens at the input.
    prompt_length: int = 0
    # "": the soft tokens are parameters (prompt tuning); "mlp" or "lstm": a prompt encoder produces them
    # (P-tuning), folded away into plain soft tokens after training.
    prompt_encoder: str = ""
    prompt_encoder_hidden_size: int = 0
    prompt_encoder_layers: int = 2
    # "prefix": the model puts the soft tokens in front of the input (and of its attention mask);
    # "template": input_ids mark where they go, soft token k as id vocab_size + k (anchors and input around them).
    prompt_placement: str = "prefix"

    def __post_init__(self):
        for name, allowed in (
            ("adapter", ADAPTER_KINDS),
            ("prompt_encoder", PROMPT_ENCODERS),
            ("prompt_placement", PROMPT_PLACEMENTS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"peft {name}={getattr(self, name)!r}; choose one of {allowed}")
        for name in ("lora_targets", "ia3_targets", "ia3_input_targets"):
            try:
                _compiled(getattr(self, name))
            except re.error as error:
                raise ValueError(f"peft {name}={getattr(self, name)!r} is not a valid regex: {error}") from None
        if self.lora_targets and self.lora_rank < 1:
            raise ValueError(f"peft lora_rank={self.lora_rank} must be positive")
        if self.prompt_encoder and not self.prompt_length:
            raise ValueError("peft prompt_encoder needs prompt_length > 0")

    @property
    def lora_scale(self) -> float:
        return self.lora_alpha / (math.sqrt(self.lora_rank) if self.lora_rslora else self.lora_rank)

    @property
    def adapts_dense(self) -> bool:
        """Whether some Dense kernels carry LoRA or IA3 parameters."""
        return bool(self.lora_targets or self.ia3_targets)

    def has_lora(self, kernel_path: str) -> bool:
        return bool(self.lora_targets) and _compiled(self.lora_targets).fullmatch(kernel_path) is not None

    def ia3_scales(self, kernel_path: str) -> str | None:
        """ "input", "output" or None: what IA3 scales at this kernel."""
        if not self.ia3_targets or _compiled(self.ia3_targets).fullmatch(kernel_path) is None:
            return None
        if self.ia3_input_targets and _compiled(self.ia3_input_targets).fullmatch(kernel_path):
            return "input"
        return "output"

    @property
    def prompt_prefix(self) -> int:
        """Soft tokens the model puts in front of the input (0 with template placement)."""
        return self.prompt_length if self.prompt_placement == "prefix" else 0

    @property
    def is_off(self) -> bool:
        return self == PeftConfig()
