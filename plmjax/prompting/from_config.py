"""A run's template and verbalizer from its config (config.objective.prompt) and task, checked against both:
the template reads only fields the task has, and there is one entry of label words per class."""

import dataclasses

from plmjax.prompting.presets import PROMPTS, prompt_for
from plmjax.prompting.template import PromptError, Template


def _manual(words, tokenizer, options):
    from plmjax.prompting.verbalizer import ManualVerbalizer

    return ManualVerbalizer(words, tokenizer, **options)


def _soft(words, tokenizer, options):
    """WARP's class embeddings, initialised from the label words (random_init=True: from N(0, init range))."""
    from plmjax.prompting.soft_verbalizer import SoftVerbalizer

    if options.pop("random_init", False):
        return SoftVerbalizer(num_classes=len(words), **options)
    return SoftVerbalizer(words, tokenizer, **options)


def _prototypical(words, tokenizer, options):
    """ProtoVerb's prototypes; with_label_words=True also averages in the label words' scores (OpenPrompt's
    "multi" verbalizer)."""
    from plmjax.prompting.proto_verbalizer import PrototypicalVerbalizer

    label_words = words if options.pop("with_label_words", False) else None
    return PrototypicalVerbalizer(len(words), label_words=label_words, tokenizer=tokenizer, **options)


# objective.prompt.verbalizer -> its factory (label words, tokenizer, objective.prompt.verbalizer_options).
VERBALIZERS = {"manual": _manual, "soft": _soft, "prototypical": _prototypical}


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


def _preset(name: str, task, key: str):
    if name not in PROMPTS:
        raise PromptError(
            f"task {task.name} has no preset prompt: set objective.prompt.{key} (presets: {sorted(PROMPTS)})"
        )
    return prompt_for(name)


def template_of(prompt_config, task) -> Template:
    """The config's template (a Template, a preset name, or None: the task's preset), checked against the task's
    fields."""
    template = prompt_config.template
    if template is None or isinstance(template, str):
        template = _preset(template or task.name, task, "template")[0]
    if not isinstance(template, Template):
        raise PromptError(
            f"objective.prompt.template must be a plmjax.prompting.Template or a preset name, not {template!r}"
        )
    available = {"text_a", *task.text_fields} | ({"text_b"} if len(task.text_fields) == 2 else set())
    missing = [field for field in template.fields if field not in available]
    if missing:
        raise PromptError(
            f"the template reads fields {missing} that task {task.name} lacks; it has {sorted(available)}"
        )
    return template


def label_words_of(prompt_config, task, searched=None) -> list[list[str]]:
    """The config's label words: a list per class, None (the preset's: of the template named, else of the task),
    or "auto" (`searched`, found by plmjax.prompting.auto_label_words)."""
    words = prompt_config.label_words
    if words == "auto":
        if searched is None:
            raise PromptError('label_words="auto" are searched on the training split by the run before it starts')
        words = searched
    elif words is None:
        name = prompt_config.template if isinstance(prompt_config.template, str) else task.name
        words = _preset(name, task, "label_words")[1]
    words = [list(w) if not isinstance(w, str) else [w] for w in words]
    if len(words) != task.num_labels:
        raise PromptError(
            f"label_words has {len(words)} entries but task {task.name} has {task.num_labels} classes "
            f"{list(task.label_names)}"
        )
    return words


def build(prompt_config, task, tokenizer, searched_words=None) -> PromptSpec:
    template, words = template_of(prompt_config, task), label_words_of(prompt_config, task, searched_words)
    if prompt_config.verbalizer not in VERBALIZERS:
        raise PromptError(
            f"objective.prompt.verbalizer={prompt_config.verbalizer!r}; verbalizers: {sorted(VERBALIZERS)}"
        )
    options = prompt_config.verbalizer_options.to_dict()
    verbalizer = VERBALIZERS[prompt_config.verbalizer](words, tokenizer, options)
    return PromptSpec(template, verbalizer, tokenizer, words)
