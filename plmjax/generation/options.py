"""The settings of one generate() call, resolved against the model config; static under jit."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    max_new_tokens: int
    eos_token_id: int | None
    # Fills the positions after a row's EOS (transformers uses EOS when the model has no pad token).
    pad_token_id: int
    decoder_start_token_id: int | None = None
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | None = None
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int | None = 50
    top_p: float | None = 1.0
    num_beams: int = 1
    length_penalty: float = 1.0
    # True: stop once num_beams hypotheses finished; False: stop when no running beam can beat the finished
    # ones by a heuristic; "never": the canonical (slow) stopping rule. As in transformers.
    early_stopping: bool | str = False

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {self.num_beams}")
        if self.early_stopping not in (True, False, "never"):
            raise ValueError(f"early_stopping must be True, False or 'never', got {self.early_stopping!r}")
        if self.do_sample and self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 when sampling, got {self.temperature}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
