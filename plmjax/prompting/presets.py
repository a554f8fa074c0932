"""LM-BFF's manual prompts (Gao et al. 2021, Table 1): a template and label words per task, in the class order
of plmjax's task (plmjax.data.tasks). Words are lower case: they are looked up in the model's vocabulary (an
uncased one has no "Great"), and a cased model takes the same words.

A config names one by its task (`objective.prompt.template = "lmbff/mr"`), or the task's own is used. PVPS holds
several prompts per task, PET's pattern-verbalizer pairs."""

from plmjax.prompting.template import Field, Mask, Template, Text

SENTIMENT = Template(Field("text_a"), Text(" It was"), Mask(), Text("."))
# "<S1>? [MASK], <S2>": the premise without its final punctuation, the hypothesis with a lower-case first letter.
ENTAILMENT = Template(
    Field("text_a", strip_final_punctuation=True),
    Text("?"),
    Mask(),
    Text(","),
    Field("text_b", lower_first=True, leading_space=True),
)

PROMPTS: dict[str, tuple[Template, list[list[str]]]] = {
    "lmbff/mr": (SENTIMENT, [["terrible"], ["great"]]),
    "lmbff/cr": (SENTIMENT, [["terrible"], ["great"]]),
    "lmbff/mpqa": (SENTIMENT, [["terrible"], ["great"]]),
    "lmbff/sst-5": (SENTIMENT, [["terrible"], ["bad"], ["okay"], ["good"], ["great"]]),
    "lmbff/subj": (Template(Field("text_a"), Text(" This is"), Mask(), Text(".")), [["subjective"], ["objective"]]),
    "lmbff/trec": (
        Template(Mask(), Text(":"), Field("text_a", leading_space=True)),
        [["description"], ["entity"], ["expression"], ["human"], ["location"], ["number"]],
    ),
    "lmbff/rte": (ENTAILMENT, [["yes"], ["no"]]),
    "lmbff/snli": (ENTAILMENT, [["yes"], ["maybe"], ["no"]]),
    "lmbff/mnli": (ENTAILMENT, [["yes"], ["maybe"], ["no"]]),
    "lmbff/qnli": (ENTAILMENT, [["yes"], ["no"]]),
    # "<Q1> [MASK], <q2>": LM-BFF's QQP template (No: not a duplicate, Yes: a duplicate).
    "lmbff/qqp": (
        Template(Field("text_a"), Mask(), Text(","), Field("text_b", lower_first=True, leading_space=True)),
        [["no"], ["yes"]],
    ),
    "glue/rte": (ENTAILMENT, [["yes"], ["no"]]),
    "glue/sst2": (SENTIMENT, [["terrible"], ["great"]]),
    "glue/qnli": (ENTAILMENT, [["yes"], ["no"]]),
    "glue/mnli": (ENTAILMENT, [["yes"], ["maybe"], ["no"]]),
}


# PET's pattern-verbalizer pairs (PVPs) per task: LM-BFF's prompt first, then patterns in the style of PET's
# (its Yelp and RTE patterns: the text before or after a short cloze).
_POLARITY = [["terrible"], ["great"]]
_SENTIMENT_PVPS = [
    (SENTIMENT, _POLARITY),
    (Template(Text("It was"), Mask(), Text("."), Field("text_a", leading_space=True)), _POLARITY),
    (Template(Field("text_a"), Text(" All in all, it was"), Mask(), Text(".")), _POLARITY),
    (Template(Text("Just"), Mask(), Text("!"), Field("text_a", leading_space=True)), [["bad"], ["good"]]),
]
PVPS: dict[str, list[tuple[Template, list[list[str]]]]] = {
    "lmbff/mr": _SENTIMENT_PVPS,
    "lmbff/cr": _SENTIMENT_PVPS,
    "lmbff/mpqa": _SENTIMENT_PVPS,
    "lmbff/subj": [
        PROMPTS["lmbff/subj"],
        (
            Template(Text("This is"), Mask(), Text("."), Field("text_a", leading_space=True)),
            [["subjective"], ["objective"]],
        ),
        (Template(Field("text_a"), Text(" It is"), Mask(), Text(".")), [["personal"], ["factual"]]),
        (
            Template(Text("A"), Mask(), Text(" sentence:"), Field("text_a", leading_space=True)),
            [["subjective"], ["objective"]],
        ),
    ],
    "lmbff/trec": [
        PROMPTS["lmbff/trec"],
        (
            Template(Text("Question about"), Mask(), Text(":"), Field("text_a", leading_space=True)),
            PROMPTS["lmbff/trec"][1],
        ),
        (Template(Field("text_a"), Text(" The answer is a"), Mask(), Text(".")), PROMPTS["lmbff/trec"][1]),
        (Template(Mask(), Text(" question:"), Field("text_a", leading_space=True)), PROMPTS["lmbff/trec"][1]),
    ],
    "lmbff/rte": [
        PROMPTS["lmbff/rte"],
        (
            Template(
                Field("text_b", strip_final_punctuation=True),
                Text("?"),
                Mask(),
                Text(","),
                Field("text_a", leading_space=True),
            ),
            [["yes"], ["no"]],
        ),  # fmt: skip
        (
            Template(
                Field("text_a"),
                Text(" Question:"),
                Field("text_b", leading_space=True),
                Text(" Answer:"),
                Mask(),
                Text("."),
            ),
            [["yes"], ["no"]],
        ),  # fmt: skip
        (
            Template(
                Field("text_a"),
                Text(" Is it true that"),
                Field("text_b", leading_space=True, lower_first=True),
                Mask(),
                Text("!"),
            ),
            [["yes"], ["no"]],
        ),  # fmt: skip
    ],
}


def prompt_for(task_name: str) -> tuple[Template, list[list[str]]]:
    if task_name not in PROMPTS:
        raise KeyError(f"no preset prompt for task {task_name!r}; presets: {sorted(PROMPTS)}")
    return PROMPTS[task_name]
