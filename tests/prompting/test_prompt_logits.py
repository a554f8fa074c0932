"""Prompt logits and the prompt loss equal a direct transformers computation (the MLM logits at the mask,
gathered on the label words, a class's mean over its words, cross-entropy) on tiny random BERT and RoBERTa, on a
padded batch, with and without LM-BFF demonstrations; so do the loss's gradients (one prompt-based step)."""

import jax
import numpy as np
import pytest
import torch
from flax import traverse_util

from plmjax.prompting import (
    DemonstrationPool,
    Field,
    ManualVerbalizer,
    Mask,
    Sep,
    Template,
    Text,
    collate,
    prompt_logits,
    prompt_loss,
)

EXAMPLES = [
    {"text_a": "the movie was great .", "text_b": "i liked the acting .", "label": 1},
    {"text_a": "the food was bad and the service was slow", "text_b": "i hated it", "label": 0},
    {"text_a": "a fine day", "text_b": "the park was good", "label": 1},
    {"text_a": "not the best book i have read", "text_b": "the plot was slow", "label": 0},
]
TEMPLATES = {
    "single": Template(Field("text_a"), Text(" it was"), Mask(), Text(".")),
    "pair": Template(Field("text_a"), Text(" ?"), Mask(), Text(" ,"), Sep(), Field("text_b", leading_space=True)),
}
LABEL_WORDS = [["terrible", "bad"], ["great"]]


def _batch(tokenizer, template, verbalizer=None):
    """The examples' prompts; with a verbalizer, each followed by LM-BFF demonstrations (one per class, drawn
    from the other examples)."""
    labels = [e["label"] for e in EXAMPLES]
    pool = DemonstrationPool(EXAMPLES, labels, 2, seed=0)
    prompts = []
    for index, example in enumerate(EXAMPLES):
        demonstrations = []
        if verbalizer is not None:
            chosen = pool.sample(query=index, step=0)
            demonstrations = [
                (EXAMPLES[i], verbalizer.word_ids[list(verbalizer.word_class).index(c)]) for c, i in enumerate(chosen)
            ]
        prompts.append(template.encode(example, tokenizer, max_length=64, demonstrations=demonstrations))
    return collate(prompts, tokenizer.pad_token_id, labels=labels)


def _torch_reference(reference, batch, verbalizer, family):
    """transformers' MLM logits at each mask, the label words' columns, the classes' means, cross-entropy."""
    inputs = {
        "input_ids": torch.tensor(batch["input_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(batch["attention_mask"], dtype=torch.long),
    }
    if getattr(reference.config, "type_vocab_size", 0) > 1:  # DistilBERT has no segment embeddings
        inputs["token_type_ids"] = torch.tensor(batch["token_type_ids"], dtype=torch.long)
    logits = reference(**inputs).logits  # [batch, length, vocab]
    at_mask = logits[
        torch.arange(len(batch["mask_positions"])), torch.tensor(batch["mask_positions"], dtype=torch.long)
    ]
    words = at_mask[:, torch.tensor(verbalizer.word_ids, dtype=torch.long)]
    classes = torch.stack(
        [words[:, torch.tensor(verbalizer.word_class == c)].mean(-1) for c in range(verbalizer.num_classes)], -1
    )
    loss = torch.nn.functional.cross_entropy(classes, torch.tensor(batch["labels"], dtype=torch.long))
    return classes, loss


@pytest.mark.parametrize("demonstrations", [False, True])
@pytest.mark.parametrize("template_name", list(TEMPLATES))
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_prompt_logits_loss_and_gradients_equal_transformers(masked_lm, family, template_name, demonstrations):
    reference, model, params, tokenizer = masked_lm(family)
    verbalizer = ManualVerbalizer(LABEL_WORDS, tokenizer)
    batch = _batch(tokenizer, TEMPLATES[template_name], verbalizer if demonstrations else None)
    assert batch["attention_mask"].min() == 0  # the batch is padded

    reference.zero_grad()
    classes, loss = _torch_reference(reference, batch, verbalizer, family)
    loss.backward()

    def loss_fn(p):
        logits = prompt_logits(model, p, batch, verbalizer)
        return prompt_loss(logits, batch["labels"]), logits

    (ours_loss, ours_logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    np.testing.assert_allclose(np.asarray(ours_logits), classes.detach().numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(float(ours_loss), loss.item(), atol=1e-5, rtol=0)

    # Gradients of the word embeddings (the tied decoder: label-word rows and every input token) and the MLM
    # head's transform, against torch's.
    flat = traverse_util.flatten_dict(grads)
    prefix = "bert" if family == "bert" else "roberta"
    torch_grads = dict(reference.named_parameters())
    pairs = [
        (("embeddings", "word_embeddings", "embedding"), f"{prefix}.embeddings.word_embeddings.weight", False),
        (("mlm_head", "transform", "kernel"), "cls.predictions.transform.dense.weight" if family == "bert"
         else "lm_head.dense.weight", True),
    ]  # fmt: skip
    for path, name, transpose in pairs:
        theirs = torch_grads[name].grad.numpy()
        np.testing.assert_allclose(np.asarray(flat[path]), theirs.T if transpose else theirs, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("demonstrations", [False, True])
@pytest.mark.parametrize("family", ["albert", "electra", "distilbert"])
def test_prompt_logits_and_loss_equal_transformers_on_every_masked_lm_family(masked_lm, family, demonstrations):
    """ALBERT (factorised embeddings), ELECTRA's generator and DistilBERT (no segments) read at the mask too."""
    reference, model, params, tokenizer = masked_lm(family)
    verbalizer = ManualVerbalizer(LABEL_WORDS, tokenizer)
    batch = _batch(tokenizer, TEMPLATES["pair"], verbalizer if demonstrations else None)
    classes, loss = _torch_reference(reference, batch, verbalizer, family)
    logits = prompt_logits(model, params, batch, verbalizer)
    np.testing.assert_allclose(np.asarray(logits), classes.detach().numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(float(prompt_loss(logits, batch["labels"])), loss.item(), atol=1e-5, rtol=0)


def test_only_the_label_words_are_projected(masked_lm):
    """vocab_ids gathers rows: the same numbers as the full vocabulary projection's columns."""
    _, model, params, tokenizer = masked_lm("bert")
    verbalizer = ManualVerbalizer(LABEL_WORDS, tokenizer)
    batch = _batch(tokenizer, TEMPLATES["single"])
    positions = batch["mask_positions"][:, None]
    full = model.apply({"params": params}, batch["input_ids"], attention_mask=batch["attention_mask"],
                       masked_positions=positions).logits  # fmt: skip
    gathered = model.apply({"params": params}, batch["input_ids"], attention_mask=batch["attention_mask"],
                           masked_positions=positions, vocab_ids=verbalizer.word_ids).logits  # fmt: skip
    assert gathered.shape == (4, 1, 3)
    np.testing.assert_allclose(np.asarray(gathered), np.asarray(full)[..., verbalizer.word_ids], atol=1e-6, rtol=0)
