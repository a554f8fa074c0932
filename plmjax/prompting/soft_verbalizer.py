"""SoftVerbalizer (WARP, Hambardzumyan et al. 2021): a trainable embedding and bias per class in place of label
words, scored against the MLM head's transformed mask state as the decoder scores a word:

    scores = transformed @ class_embeddings.T + class_bias          [batch, classes]

Initialised from label words (a class's row is the mean of its words' decoder rows, its bias the mean of their
decoder biases), its scores at init equal ManualVerbalizer's class logits, the mean of the words' logits; without
label words the rows are drawn from N(0, initializer_range^2) and the biases are zero. Trained by cross-entropy
over its scores, like a manual verbalizer.
"""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.prompting.mask_outputs import label_word_rows
from plmjax.prompting.template import PromptError
from plmjax.prompting.verbalizer import ManualVerbalizer


class SoftVerbalizer:
    """label_words (as ManualVerbalizer takes them, with `tokenizer`): initialise from them; or num_classes
    alone: random rows."""

    def __init__(self, label_words=None, tokenizer=None, num_classes: int | None = None, leading_space=None):
        if label_words is None:
            if num_classes is None or num_classes < 2:
                raise PromptError(f"a SoftVerbalizer needs label_words or num_classes >= 2, got {num_classes}")
            self.manual = None
            self.num_classes = num_classes
            # The model's gather needs one word; soft scores read `transformed`, never the word logits.
            self.word_ids = np.zeros(1, np.int32)
        else:
            if tokenizer is None:
                raise PromptError("a SoftVerbalizer initialised from label_words needs their tokenizer")
            self.manual = ManualVerbalizer(label_words, tokenizer, leading_space)
            if num_classes is not None and num_classes != self.manual.num_classes:
                raise PromptError(f"num_classes {num_classes} but label_words has {self.manual.num_classes} classes")
            self.num_classes = self.manual.num_classes
            self.word_ids = self.manual.word_ids

    uses_cross_entropy = True
    term_weights: dict = {}  # noqa: RUF012 (read only)

    def init(self, rng, model, params) -> dict:
        """{"class_embeddings": [classes, embed], "class_bias": [classes]}, float32; traceable (jnp only)."""
        if self.manual is not None:
            rows, bias = label_word_rows(model, params, self.word_ids)
            mean = jnp.asarray(self.manual.mean_weights)
            # HIGHEST: TPUs multiply float32 in bfloat16 passes by default, and init must equal the manual logits.
            average = lambda x: jnp.matmul(mean, x.astype(jnp.float32), precision=jax.lax.Precision.HIGHEST)
            embeddings, class_bias = average(rows), average(bias)
        else:
            shape = (self.num_classes, model.config.embed_size)
            embeddings = jax.random.normal(rng, shape, jnp.float32) * model.config.initializer_range
            class_bias = jnp.zeros(self.num_classes, jnp.float32)
        return {"class_embeddings": embeddings, "class_bias": class_bias}

    def scores(self, own_params, outputs):
        transformed = outputs.transformed.astype(jnp.float32)
        return transformed @ own_params["class_embeddings"].T + own_params["class_bias"]

    def loss_terms(self, own_params, outputs, labels, weights) -> dict:
        return {}

    def term_counts(self, labels, weights) -> dict:
        return {}
