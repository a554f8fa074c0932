"""Tiny random transformers (PyTorch) models of every encoder family, with every head, saved to disk.

Every parameter is randomised (layer norms and biases included, not left at 1 and 0) so that a
parity test can catch a mis-mapped or mis-transposed tensor anywhere.
"""

import torch
import transformers

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
CONFIGS = {
    "bert": lambda: transformers.BertConfig(**TINY, max_position_embeddings=64, type_vocab_size=3),
    "roberta": lambda: transformers.RobertaConfig(**TINY, max_position_embeddings=66, pad_token_id=1),
    # Two groups of two inner layers over four layers: exercises ALBERT's sharing in full generality.
    "albert": lambda: transformers.AlbertConfig(
        **{**TINY, "num_hidden_layers": 4},
        embedding_size=16,
        num_hidden_groups=2,
        inner_group_num=2,
        max_position_embeddings=64,
    ),
    "electra": lambda: transformers.ElectraConfig(**TINY, embedding_size=16, max_position_embeddings=64),
    "distilbert": lambda: transformers.DistilBertConfig(
        vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64
    ),
    "mpnet": lambda: transformers.MPNetConfig(**TINY, max_position_embeddings=66),
}
PREFIX = {
    "bert": "Bert",
    "roberta": "Roberta",
    "albert": "Albert",
    "electra": "Electra",
    "distilbert": "DistilBert",
    "mpnet": "MPNet",
}
HEAD_CLASS = {
    None: "Model",
    "mlm": "ForMaskedLM",
    "pretraining": "ForPreTraining",
    "nsp": "ForNextSentencePrediction",
    "classification": "ForSequenceClassification",
    "regression": "ForSequenceClassification",
    "token_classification": "ForTokenClassification",
    "span": "ForQuestionAnswering",
    "rtd": "ForPreTraining",
}
HEADS = {
    "bert": [None, "mlm", "pretraining", "nsp", "classification", "regression", "token_classification", "span"],
    "roberta": [None, "mlm", "classification", "token_classification", "span"],
    "albert": [None, "mlm", "pretraining", "classification", "token_classification", "span"],
    "electra": [None, "mlm", "rtd", "classification", "token_classification", "span"],
    "distilbert": [None, "mlm", "classification", "token_classification", "span"],
    "mpnet": [None, "mlm", "classification", "regression", "token_classification", "span"],
}
NUM_LABELS = {"classification": 3, "regression": 1, "token_classification": 5}


def hf_class(family: str, head: str | None):
    return getattr(transformers, PREFIX[family] + HEAD_CLASS[head])


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2 + (param == 1).float())
    return model.eval()


def make_hf_model(family: str, head: str | None, seed: int = 0, **config_changes):
    config = CONFIGS[family]()
    for key, value in config_changes.items():
        setattr(config, key, value)
    if head in NUM_LABELS:
        config.num_labels = NUM_LABELS[head]
    config._attn_implementation = "eager"  # the only implementation that returns attention probabilities
    return randomise(hf_class(family, head)(config), seed)


def padded_batch(family: str, seed: int = 0):
    """Two sequences of different lengths, right-padded with the family's pad id; (numpy inputs dict)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pad = 1 if family in ("roberta", "mpnet") else 0
    ids = rng.integers(3, 99, size=(2, 11))
    mask = np.ones((2, 11), np.int64)
    mask[1, 7:] = 0
    ids[1, 7:] = pad
    inputs = {"input_ids": ids, "attention_mask": mask}
    if family not in ("distilbert", "mpnet"):  # no token type embeddings
        inputs["token_type_ids"] = np.where(np.arange(11) < 5, 0, 1)[None, :].repeat(2, 0) * (
            2 if family == "bert" else 1
        )
        if family == "roberta":
            inputs["token_type_ids"] = np.zeros_like(ids)
    return inputs
