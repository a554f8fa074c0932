"""Prompt-based fine-tuning: templates (an example as a cloze), verbalizers (label words per class) and the
prompt logits and loss read at the mask (LM-BFF, Gao et al. 2021; PET, Schick & Schütze 2021). See
docs/prompting.md.

    template = Template(Field("text_a"), Text(" It was"), Mask(), Text("."))
    verbalizer = ManualVerbalizer([["terrible"], ["great"]], tokenizer)
    batch = collate([template.encode(example, tokenizer, max_length=128) for example in examples], pad_id, labels)
    logits = prompt_logits(model, params, batch, verbalizer)     # [batch, classes]
"""

from plmjax.prompting.demonstrations import DemonstrationPool, ensemble
from plmjax.prompting.logits import collate, prompt_logits, prompt_loss
from plmjax.prompting.mask_outputs import MaskOutputs, mask_outputs
from plmjax.prompting.objective import PromptClassification
from plmjax.prompting.presets import PROMPTS
from plmjax.prompting.proto_verbalizer import PrototypicalVerbalizer
from plmjax.prompting.soft_verbalizer import SoftVerbalizer
from plmjax.prompting.template import EncodedPrompt, Field, Mask, PromptError, Sep, Soft, Template, Text
from plmjax.prompting.verbalizer import ManualVerbalizer, word_id

__all__ = [
    "DemonstrationPool",
    "EncodedPrompt",
    "Field",
    "ManualVerbalizer",
    "Mask",
    "MaskOutputs",
    "PROMPTS",
    "PromptClassification",
    "PrototypicalVerbalizer",
    "SoftVerbalizer",
    "PromptError",
    "Sep",
    "Soft",
    "Template",
    "Text",
    "collate",
    "ensemble",
    "mask_outputs",
    "prompt_logits",
    "prompt_loss",
    "word_id",
]
