"""The settings of one generate() call, resolved against the model config: SearchOptions are static under jit
(each one shapes the program), SearchData are arrays (new values reuse the compiled program)."""

import dataclasses

import jax

from plmjax.generation.stop_strings import StopStringTable


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
    # EOS is banned until this many tokens are generated.
    min_new_tokens: int = 0
    # 0: off; n: a token that would repeat an n-gram of the sequence so far is banned.
    no_repeat_ngram_size: int = 0
    # Sampling: samples per prompt; beam search: the best hypotheses per prompt (at most num_beams).
    num_return_sequences: int = 1

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
        if self.min_new_tokens < 0:
            raise ValueError(f"min_new_tokens must be >= 0, got {self.min_new_tokens}")
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if self.num_return_sequences < 1:
            raise ValueError(f"num_return_sequences must be >= 1, got {self.num_return_sequences}")
        if self.num_return_sequences > 1 and self.num_beams == 1 and not self.do_sample:
            raise ValueError(
                "greedy search returns one sequence per prompt: num_return_sequences needs do_sample or beams"
            )
        if self.num_return_sequences > self.num_beams > 1:
            raise ValueError(
                f"num_return_sequences ({self.num_return_sequences}) must be at most num_beams ({self.num_beams})"
            )


@dataclasses.dataclass(frozen=True)
class SearchData:
    """Array-valued settings, traced under jit; None turns a processor off.

    repetition_penalty: float32 scalar (a traced value, so that XLA divides by it exactly as torch does rather
    than multiplying by a rounded reciprocal). bad_words: [words, longest] int32 token sequences, left-padded
    with -1. stop_strings: the precomputed stop-string table.
    """

    repetition_penalty: jax.Array | None = None
    bad_words: jax.Array | None = None
    stop_strings: StopStringTable | None = None


jax.tree_util.register_dataclass(
    SearchData, data_fields=["repetition_penalty", "bad_words", "stop_strings"], meta_fields=[]
)
