"""A run's template and verbalizer from its config (config.objective.prompt) and task, checked against both:
the template reads only fields the task has, and there is one entry of label words per class."""

import dataclasses
import importlib

from plmjax.prompting.presets import PROMPTS, prompt_for
from plmjax.prompting.template import PromptError, Template

# objective.prompt.verbalizer -> the class (module:name), imported when a run uses it.
VERBALIZERS = {
    "manual": "plmjax.prompting.verbalizer:ManualVerbalizer",
    "soft": "plmjax.prompting.soft_verbalizer:SoftVerbalizer",
    "prototypical": "plmjax.prompting.proto_verbalizer:PrototypicalVerbalizer",
}


@dataclasses.dataclass(frozen=True)
class PromptSpec:
    template: Template
    verbalizer: object
    tokenizer: object
    label_words: list

    @property
    def demo_word_ids(self) -> list[int]:
        """The word a demonstration of each class shows in place of the mask: the class's first label word."""
        from plmjax.prompting.verbalizer import word_id

        return [word_id(self.tokenizer, words[0]) for words in self.label_words]


def template_and_words(prompt_config, task) -> tuple[Template, list]:
    """The config's template (a Template, a preset name, or None: the task's preset) and label words (None: the
    preset's), checked against the task."""
    template, words = prompt_config.template, prompt_config.label_words
    if template is None or isinstance(template, str) or words is None:
        preset = template if isinstance(template, str) else task.name
        if preset not in PROMPTS and (template is None or words is None):
            what = "objective.prompt.template" if template is None else "objective.prompt.label_words"
            raise PromptError(f"task {task.name} has no preset prompt: set {what} (presets: {sorted(PROMPTS)})")
        preset_template, preset_words = prompt_for(preset) if preset in PROMPTS else (None, None)
        template = preset_template if template is None or isinstance(template, str) else template
        words = preset_words if words is None else words
    if not isinstance(template, Template):
        raise PromptError(
            f"objective.prompt.template must be a plmjax.prompting.Template or a preset name, not {template!r}"
        )
    words = [list(w) if not isinstance(w, str) else [w] for w in words]
    if len(words) != task.num_labels:
        raise PromptError(
            f"label_words has {len(words)} entries but task {task.name} has {task.num_labels} classes "
            f"{list(task.label_names)}"
        )
    available = {"text_a", *task.text_fields} | ({"text_b"} if len(task.text_fields) == 2 else set())
    missing = [field for field in template.fields if field not in available]
    if missing:
        raise PromptError(
            f"the template reads fields {missing} that task {task.name} lacks; it has {sorted(available)}"
        )
    return template, words


def verbalizer_class(name: str):
    if name not in VERBALIZERS:
        raise PromptError(f"objective.prompt.verbalizer={name!r}; verbalizers: {sorted(VERBALIZERS)}")
    module, _, attribute = VERBALIZERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def build(prompt_config, task, tokenizer) -> PromptSpec:
    template, words = template_and_words(prompt_config, task)
    options = prompt_config.verbalizer_options.to_dict()
    verbalizer = verbalizer_class(prompt_config.verbalizer)(words, tokenizer, **options)
    return PromptSpec(template, verbalizer, tokenizer, words)
