"""Tiny random transformers (PyTorch) models of the causal and encoder-decoder families, and padded inputs.

Every parameter is randomised (norms included) so that a parity test catches any mis-mapped tensor; the
variants cover GPT-2 with tied and untied LM heads, BART with scaled embeddings and a non-zero
final_logits_bias, and T5 v1.0 (ReLU) and v1.1 (gated-GELU) with tied and untied LM heads.
"""

import numpy as np
import torch
import transformers

GPT2 = dict(n_layer=2, n_embd=32, n_head=4, n_inner=37, vocab_size=99, n_positions=64)
BART = dict(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=3,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    max_position_embeddings=64,
    scale_embedding=True,
)
# d_kv * num_heads != d_model and few buckets exercise every T5 shape and bucket rule; "t5-relu" also has a
# deeper decoder (transformers' generate() cannot run that one: its cache sizes itself by the encoder depth).
T5 = dict(
    vocab_size=99,
    d_model=32,
    d_kv=6,
    d_ff=37,
    num_layers=2,
    num_heads=4,
    relative_attention_num_buckets=8,
    relative_attention_max_distance=20,
    decoder_start_token_id=0,
)
# Special tokens: 0 pad, 1 bos (T5: eos), 2 eos (BART's decoder start).
GPT2_IDS = dict(pad_token_id=0, bos_token_id=1, eos_token_id=2)

VARIANTS = {
    "gpt2": ("gpt2", lambda: transformers.GPT2Config(**GPT2, **GPT2_IDS)),
    "gpt2-untied": ("gpt2", lambda: transformers.GPT2Config(**GPT2, **GPT2_IDS, tie_word_embeddings=False)),
    "bart": ("bart", lambda: transformers.BartConfig(**BART)),
    "t5-relu": ("t5", lambda: transformers.T5Config(**T5, feed_forward_proj="relu", num_decoder_layers=3)),
    "t5-relu-untied": ("t5", lambda: transformers.T5Config(**T5, feed_forward_proj="relu", tie_word_embeddings=False)),
    "t5-gated": ("t5", lambda: transformers.T5Config(**T5, feed_forward_proj="gated-gelu")),
    "t5-gated-untied": (
        "t5",
        lambda: transformers.T5Config(**T5, feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    ),
}
HF_CLASSES = {
    "gpt2": {None: "GPT2Model", "lm": "GPT2LMHeadModel", "classification": "GPT2ForSequenceClassification"},
    "bart": {
        None: "BartModel",
        "lm": "BartForConditionalGeneration",
        "classification": "BartForSequenceClassification",
    },
    "t5": {None: "T5Model", "lm": "T5ForConditionalGeneration"},
}


def family_of(variant: str) -> str:
    return VARIANTS[variant][0]


def hf_class(variant: str, head: str | None):
    return getattr(transformers, HF_CLASSES[family_of(variant)][head])


def make_hf_model(variant: str, head: str | None, seed: int = 0, **config_changes):
    config = VARIANTS[variant][1]()
    for key, value in config_changes.items():
        setattr(config, key, value)
    if head == "classification":
        config.num_labels = 3
    config._attn_implementation = "eager"
    model = hf_class(variant, head)(config)
    untied = variant.endswith("-untied") and head == "lm"
    if untied and model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr():
        # transformers 5 ties T5's lm_head whatever the config says; a separate matrix is what
        # untied checkpoints (T5 v1.1, flan-t5) hold.
        model.lm_head.weight = torch.nn.Parameter(torch.empty_like(model.lm_head.weight))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2 + (param == 1).float())
        for name, buffer in model.named_buffers():
            if name.endswith("final_logits_bias"):
                buffer.copy_(torch.randn(buffer.shape, generator=generator))
    return model.eval()


def causal_batch(seed: int = 0):
    """Two right-padded sequences of different lengths (pad id 0)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, 99, size=(2, 11))
    mask = np.ones((2, 11), np.int64)
    mask[1, 7:] = 0
    ids[1, 7:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def seq2seq_batch(family: str, head: str | None, seed: int = 0):
    """Padded encoder inputs ending in EOS, and (except for BART classification, whose decoder reads the
    inputs shifted right) padded decoder inputs."""
    rng = np.random.default_rng(seed)
    pad, eos = (1, 2) if family == "bart" else (0, 1)
    ids = rng.integers(3, 99, size=(2, 30))
    mask = np.ones_like(ids)
    ids[0, -1] = eos
    ids[1, 6], ids[1, 7:], mask[1, 7:] = eos, pad, 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if head != "classification":
        decoder_ids = rng.integers(3, 99, size=(2, 25))
        decoder_mask = np.ones_like(decoder_ids)
        decoder_ids[1, 9:], decoder_mask[1, 9:] = pad, 0
        inputs |= {"decoder_input_ids": decoder_ids, "decoder_attention_mask": decoder_mask}
    return inputs
