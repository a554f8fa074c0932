"""The objective of a run (config.objective.name) with its model(s), parameters and what they start from.

Single-model objectives (classification, MLM with or without NSP/SOP, causal LM, BART, T5) wrap the model of
config.model (an HF directory or a preset; plmjax.assembly.model) with the head the objective needs. ELECTRA builds a
generator and a discriminator from a preset; distillation builds a teacher (config.objective.distillation.
teacher, or config.model) and a half-depth student copied from it, and freezes the teacher.
"""

import dataclasses
import os

import flax.linen as nn
import jax
from flax import traverse_util

import plmjax
from plmjax import objectives, peft
from plmjax.assembly import model as model_setup
from plmjax.early_exit.heads import EARLY_EXIT
from plmjax.early_exit.objective import EarlyExit
from plmjax.models.cove import CoveSeq2Seq
from plmjax.models.elmo import ElmoBiLM
from plmjax.models.encoder import NATIVE_SENTENCE_TASK
from plmjax.models.init import abstract_params
from plmjax.models.model_classes import build_model
from plmjax.models.presets import PRESETS
from plmjax.objectives.soft_targets import SoftTargetClassification
from plmjax.prompting import from_config as prompt_from_config
from plmjax.prompting.multi_task import MultiTaskPromptClassification, MultiTaskVerbalizer
from plmjax.prompting.objective import VERBALIZER, PromptClassification
from plmjax.prompting.template import PromptError
from plmjax.sentence.simcse import MLP, SimCSE

OBJECTIVES = (
    "classification", "soft_classification", "prompt", "mlm", "clm", "plm", "bilm", "bart", "t5", "text_to_text",
    "cove", "electra", "distillation", "simcse", "early_exit",
)  # fmt: skip
# Objectives that classify a task's examples (data.task) rather than pretrain on a corpus.
TASK_OBJECTIVES = ("classification", "soft_classification", "prompt", "early_exit")
SENTENCE_TASKS = ("", "nsp", "sop")
# Rules that go before the PEFT method's: the distillation teacher never trains, a verbalizer's own
# parameters (soft, prototypical) and SimCSE's MLP pooler always do.
FROZEN_TEACHER = ("teacher/.*", peft.FROZEN)
TRAINED_VERBALIZER = (f"{VERBALIZER}/.*", peft.TRAINABLE)
TRAINED_MLP = (f"{MLP}/.*", peft.TRAINABLE)
# The exit heads and confidence predictor always train; DeeBERT's second stage (scheme "internal") freezes
# everything else, the PEFT method's parameters included.
TRAINED_EXITS = (f"{EARLY_EXIT}/.*", peft.TRAINABLE)
FROZEN_REST = (".*", peft.FROZEN)


def own_params(objective):
    """(params key, add(params, rng) -> params) of the parameters an objective keeps beside its model's (a
    verbalizer's, SimCSE's MLP pooler), or (None, None)."""
    if isinstance(objective, PromptClassification):
        return VERBALIZER, objective.add_verbalizer_params
    if isinstance(objective, SimCSE):
        return MLP, objective.add_mlp_params
    if isinstance(objective, EarlyExit):
        return EARLY_EXIT, objective.add_exit_params
    return None, None


@dataclasses.dataclass
class ObjectiveSetup:
    objective: objectives.Objective
    model: nn.Module  # the model a run describes (and exports): the discriminator, the student, or the only one
    models: dict  # {path prefix in params, or "": model} whose boxed params give every leaf's logical axes
    seed: int
    base: model_setup.ModelSetup | None = None  # single-model objectives: the model's set-up (HF weights, PEFT)
    teacher_path: str | None = None  # distillation from an HF directory
    leading_rules: tuple = ()  # (regex, label) rules before the PEFT method's
    settings: dict = dataclasses.field(default_factory=dict)
    prompt: prompt_from_config.PromptSpec | None = None  # the prompt objective's template and verbalizer
    mixture_prompts: tuple = ()  # a multi-task prompt run's PromptSpec of each task (data.mixture)

    @property
    def peft_plan(self):
        return self.base.peft_plan if self.base is not None else None

    @property
    def pretrained_path(self):
        return self.base.pretrained_path if self.base is not None else self.teacher_path

    def abstract_params(self, boxed: bool = False):
        if self.base is not None:
            shapes = abstract_params(self.base.model, boxed=boxed)
            key, add = own_params(self.objective)
            if key is not None:
                # The objective's own parameters (no logical axes: replicated) beside the model's.
                own = jax.eval_shape(lambda p: add(p, jax.random.key(0)), nn.meta.unbox(shapes))
                shapes = {**shapes, **{k: v for k, v in own.items() if k == key}}
            return shapes
        shapes = jax.eval_shape(self.objective.init, jax.random.key(0))
        if not boxed:
            return shapes
        # Every leaf takes the logical axes of the same path in its model's own (boxed) parameters.
        names = {}
        for prefix, model in self.models.items():
            for path, leaf in traverse_util.flatten_dict(abstract_params(model, boxed=True)).items():
                names[(prefix, *path)] = leaf
        flat = {path: names.get(path, leaf) for path, leaf in traverse_util.flatten_dict(shapes).items()}
        return traverse_util.unflatten_dict(flat)

    def base_reference(self, hash_weights: bool) -> dict:
        if self.base is not None:
            return self.base.base_reference(hash_weights)
        if self.teacher_path is None:
            return {"kind": "random", "seed": self.seed}
        reference = {"kind": "pretrained", "path": self.teacher_path}
        if hash_weights:
            reference["sha256"] = model_setup.weights_sha256(self.teacher_path)
        return reference

    def init_params(self, shardings):
        if self.base is not None:
            key, add = own_params(self.objective)
            if key is None or key not in shardings:
                return self.base.init_params(shardings)
            params = self.base.init_params({k: v for k, v in shardings.items() if k != key})
            params = add(params, jax.random.fold_in(jax.random.key(self.seed), 2))
            return jax.device_put(params, shardings)
        init_rng = jax.random.fold_in(jax.random.key(self.seed), 0)
        if self.teacher_path is None:
            return jax.jit(self.objective.init, out_shardings=shardings)(init_rng)
        _, teacher_params = plmjax.from_pretrained(self.teacher_path, "mlm", rng=init_rng, **self.settings)
        _, student_params = objectives.student_from_teacher(self.objective.teacher, teacher_params)
        params = objectives.Distillation.params(student_params, teacher_params)
        return jax.tree.map(model_setup._put_host_array, params, shardings)


# The objectives whose model has no head: SimCSE pools the backbone's states.
HEADLESS = ("simcse",)


def head_of(objective_config) -> str | None:
    """The head the objective's model needs (None: the model config's own)."""
    name = objective_config.name
    if name == "mlm":
        return "pretraining" if objective_config.sentence_task else "mlm"
    if name == "prompt":
        return "mlm"
    if name == "early_exit":
        return "classification"
    return {"clm": "lm", "plm": "lm", "bart": "lm", "t5": "lm", "text_to_text": "lm"}.get(name)


def build(
    config, num_labels: int = 0, vocab_size: int | None = None, task=None, tokenizer=None, searched_words=None
) -> ObjectiveSetup:
    """The objective of config.objective over config.model; vocab_size (a trained tokenizer's) sizes presets;
    the prompt objective reads its task's preset prompt and looks its label words up in the tokenizer (with
    data.mixture, `task` is the list of the mixture's tasks)."""
    o = config.objective
    if o.name not in OBJECTIVES:
        raise ValueError(f"objective.name={o.name!r}; objectives: {OBJECTIVES}")
    if o.sentence_task not in SENTENCE_TASKS:
        raise ValueError(f"objective.sentence_task={o.sentence_task!r}; choose one of {SENTENCE_TASKS}")
    model_config = config.model.copy_and_resolve_references()
    with model_config.unlocked():
        if head_of(o) is not None or o.name in HEADLESS:
            model_config.head = head_of(o)
        if vocab_size is not None and not os.path.isdir(model_config.name_or_path):
            model_config.config_overrides.vocab_size = vocab_size
    max_predictions = o.max_predictions or None
    if o.name in WORD_OBJECTIVES:
        return _word_model_setup(config, tokenizer)
    if o.name in ("electra", "distillation"):
        return _two_model_setup(config, model_config, max_predictions)
    base = model_setup.build(model_config, num_labels, config.seed, config.peft)
    model = base.model
    if o.name == "classification":
        objective = objectives.Classification(model, num_labels)
    elif o.name == "soft_classification":
        objective = SoftTargetClassification(model, num_labels, o.soft_classification.temperature)
    elif o.name == "prompt" and config.data.mixture:
        # One preset prompt per task of the mixture, every row scored with its own task's label words.
        if o.prompt.verbalizer != "manual" or o.prompt.label_words == "auto" or o.prompt.demonstrations:
            raise PromptError("a task mixture takes manual verbalizers, the tasks' own label words, no demonstrations")
        specs = tuple(prompt_from_config.build(o.prompt, t, tokenizer) for t in task)
        verbalizer = MultiTaskVerbalizer([spec.label_words for spec in specs], tokenizer)
        objective = MultiTaskPromptClassification(model, verbalizer)
        return ObjectiveSetup(objective, model, {"": model}, config.seed, base=base, mixture_prompts=specs)
    elif o.name == "prompt":
        spec = prompt_from_config.build(o.prompt, task, tokenizer, searched_words)
        objective = PromptClassification(model, spec.verbalizer, o.prompt.auxiliary_mlm)
        rules = (TRAINED_VERBALIZER,)
        return ObjectiveSetup(objective, model, {"": model}, config.seed, base=base, leading_rules=rules, prompt=spec)
    elif o.name == "simcse":
        s = o.simcse
        objective = SimCSE(model, s.temperature, s.hard_negative_weight, s.pooler, s.mlp_at_test)
        return ObjectiveSetup(objective, model, {"": model}, config.seed, base=base, leading_rules=(TRAINED_MLP,))
    elif o.name == "early_exit":
        objective = EarlyExit.from_config(model, num_labels, o.early_exit)
        rules = (TRAINED_EXITS, FROZEN_REST) if o.early_exit.scheme == "internal" else (TRAINED_EXITS,)
        return ObjectiveSetup(objective, model, {"": model}, config.seed, base=base, leading_rules=rules)
    elif o.name == "mlm" and o.sentence_task:
        native = NATIVE_SENTENCE_TASK.get(model.config.family)
        if native != o.sentence_task:
            raise ValueError(f"objective.sentence_task={o.sentence_task!r} needs a bert (nsp) or albert (sop) model")
        objective = objectives.MaskedLMWithSentenceRelation(model, max_predictions)
    elif o.name == "mlm":
        objective = objectives.MaskedLM(model, max_predictions)
    elif o.name == "clm":
        objective = objectives.CausalLM(model, config.data.max_length, o.eval_memory_length)
    elif o.name == "plm":
        if model.config.family != "xlnet":
            raise ValueError(f"objective plm (permutation LM) needs an xlnet model, not {model.config.family}")
        objective = objectives.PermutationLM(model, o.eval_memory_length)
    else:
        objective = objectives.Seq2SeqLM(model)
    return ObjectiveSetup(objective, model, {"": model}, config.seed, base=base)


# The LSTM objectives: no transformer, sized by model.elmo / model.cove, their vocabularies a word tokenizer's.
WORD_OBJECTIVES = ("bilm", "cove")


def _word_model_setup(config, tokenizer) -> ObjectiveSetup:
    name = config.objective.name
    if not hasattr(tokenizer, "softmax_size"):
        raise ValueError(f"objective {name} reads words: data.tokenizer_kind=word (or a word tokenizer directory)")
    if name == "bilm":
        elmo = config.model.elmo.to_dict()
        model = ElmoBiLM(tokenizer.softmax_size, **{**elmo, "filters": tuple(map(tuple, elmo["filters"]))})
        objective = objectives.BidirectionalLM(model)
    else:
        cove = config.model.cove.to_dict()
        model = CoveSeq2Seq(len(tokenizer), tokenizer.softmax_size, bos_id=tokenizer.bos_token_id, **cove)
        objective = objectives.AttentionalTranslation(model, tokenizer.unk_token_id)
    return ObjectiveSetup(objective, model, {"": model}, config.seed)


def _settings(model_config) -> dict:
    settings = dict(model_config.config_overrides.to_dict())
    settings.update(dtype=model_config.dtype, param_dtype="float32", remat=model_config.remat)
    return settings


def _two_model_setup(config, model_config, max_predictions) -> ObjectiveSetup:
    o, settings = config.objective, _settings(model_config)
    if o.name == "electra":
        if model_config.name_or_path not in PRESETS:
            raise ValueError("ELECTRA pretrains from scratch: model.name_or_path must be a preset")
        transformer = plmjax.preset(model_config.name_or_path, **settings)
        objective = objectives.Electra.from_config(
            transformer, o.electra.generator_fraction, rtd_weight=o.electra.rtd_weight, max_predictions=max_predictions
        )
        models = {"generator": objective.generator, "discriminator": objective.discriminator}
        return ObjectiveSetup(objective, objective.discriminator, models, config.seed, settings=settings)

    d = o.distillation
    teacher_name = d.teacher or model_config.name_or_path
    teacher_path = os.path.abspath(teacher_name) if os.path.isdir(teacher_name) else None
    if teacher_path is not None:
        teacher = model_setup._hf_model(teacher_path, "mlm", 0, settings)
    elif teacher_name in PRESETS:
        teacher = build_model(plmjax.preset(teacher_name, **settings), head="mlm")
    else:
        raise ValueError(f"distillation teacher {teacher_name!r} is neither a directory nor a preset")
    layers = tuple(range(0, teacher.config.num_layers, 2))
    student = type(teacher)(teacher.config.replace(num_layers=len(layers)), head="mlm")
    objective = objectives.Distillation(
        student,
        teacher,
        alpha_ce=d.alpha_ce,
        alpha_mlm=d.alpha_mlm,
        alpha_cos=d.alpha_cos,
        temperature=d.temperature,
        max_predictions=max_predictions,
    )
    return ObjectiveSetup(
        objective,
        student,
        {"student": student, "teacher": teacher},
        config.seed,
        teacher_path=teacher_path,
        leading_rules=(FROZEN_TEACHER,),
        settings=settings,
    )
