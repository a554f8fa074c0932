"""HF peft as the reference where its prefix-tuning glue lags transformers' cache API.

transformers 5.25 renamed the models' `past_key_values` argument to `cache` (the old name still works, with a
deprecation, until 5.40). peft 0.21 looks for the old name: its sequence-classification prefix forward checks
the backbone's signature for `past_key_values` and raises, and its generation hook reads and writes
`model_kwargs["past_key_values"]` while transformers' `generate` keeps the cache under `cache`, so the prefix is
injected afresh at every step and then ignored. The arithmetic under test (peft's prefix encoder and
`get_prompt`, transformers' attention over a cache) is unchanged, so these helpers only carry the cache under the
name the installed transformers expects. Where the installed versions agree, they call peft unchanged.
"""

import contextlib
import inspect

import numpy as np
import torch


def _cache_keyword(module: torch.nn.Module) -> str:
    """The name under which `module.forward` takes a KV cache: `cache` (transformers >= 5.25) or the old name."""
    parameters = inspect.signature(module.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def prefix_classifier_logits(reference, inputs: dict) -> np.ndarray:
    """Logits of a peft prefix-tuned sequence classifier: peft's own forward where it accepts the installed
    transformers, otherwise its `_prefix_tuning_forward` step by step with the cache passed as `cache`."""
    tensors = {k: torch.tensor(np.asarray(v)) for k, v in inputs.items()}
    backbone = reference.base_model.get_submodule(reference.transformer_backbone_name)
    with torch.no_grad():
        if _cache_keyword(backbone) == "past_key_values":
            return reference(**tensors).logits.numpy()
        batch_size = tensors["input_ids"].shape[0]
        length = reference.active_peft_config.num_virtual_tokens
        attention_mask = torch.cat([torch.ones(batch_size, length, dtype=torch.long), tensors["attention_mask"]], 1)
        outputs = backbone(**{**tensors, "attention_mask": attention_mask}, cache=reference.get_prompt(batch_size))
        pooled = outputs[1] if len(outputs) > 1 else outputs[0]
        if "dropout" in dict(reference.base_model.named_children()):
            pooled = reference.base_model.dropout(pooled)
        return reference.base_model.get_submodule(reference.cls_layer_name)(pooled).numpy()


def is_prefix_classifier(reference) -> bool:
    config = getattr(reference, "active_peft_config", None)
    return config is not None and config.peft_type == "PREFIX_TUNING" and hasattr(reference, "cls_layer_name")


def _renaming(prepare, old: str, new: str):
    """prepare, with the `old` key of the model kwargs it returns renamed `new`."""

    def renamed(*args, **kwargs):
        model_kwargs = prepare(*args, **kwargs)
        if old in model_kwargs:
            model_kwargs[new] = model_kwargs.pop(old)
        return model_kwargs

    return renamed


@contextlib.contextmanager
def prefix_generation(reference):
    """peft's `generate` for a prefix-tuned causal LM, with its generation hook seeing the cache by the name it
    reads (`past_key_values`) and transformers getting it back by the name it reads (`cache`)."""
    if _cache_keyword(reference.get_base_model()) == "past_key_values":
        yield reference
        return
    base_prepare = reference.base_model_prepare_inputs_for_generation
    peft_prepare = reference.prepare_inputs_for_generation
    reference.base_model_prepare_inputs_for_generation = _renaming(base_prepare, "cache", "past_key_values")
    reference.prepare_inputs_for_generation = _renaming(peft_prepare, "past_key_values", "cache")
    try:
        yield reference
    finally:
        reference.base_model_prepare_inputs_for_generation = base_prepare
        del reference.prepare_inputs_for_generation
