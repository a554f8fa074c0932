"""Generation and scoring for the causal and encoder-decoder families: jitted incremental decoding over a
key/value cache (greedy, sampling, beam search) and per-token log-likelihoods / perplexity."""

from plmjax.generation.api import generate
from plmjax.generation.scoring import Perplexity, sliding_window_perplexity, token_log_likelihoods

__all__ = ["Perplexity", "generate", "sliding_window_perplexity", "token_log_likelihoods"]
