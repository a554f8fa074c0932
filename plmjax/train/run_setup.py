"""Everything a training run is made of, built from its config: task and data, model, mesh and shardings,
trainable/frozen split, optimizer, jitted steps and checkpoints. The loop (loop.py) only runs it."""

import concurrent.futures
import dataclasses
import math
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax import peft
from plmjax.assembly import model as model_setup
from plmjax.assembly import objective as objective_setup
from plmjax.data import task_inputs
from plmjax.data.pretraining import run_data
from plmjax.hf import load_tokenizer
from plmjax.train import checkpoint, partition, sharding
from plmjax.train.mixture_source import MixtureSource, mixture_tasks
from plmjax.train.optimizer import learning_rate_schedule, make_optimizer
from plmjax.train.prompt_source import PromptSource
from plmjax.train.sentence_source import SentenceSource
from plmjax.train.sources import ClassificationSource, PretrainingSource
from plmjax.train.state import TrainState
from plmjax.train.step import make_objective_eval_step, make_objective_train_step


@dataclasses.dataclass
class Run:
    config: object
    workdir: str
    source: object  # a Classification-, Pretraining- (plmjax.train.sources), Prompt- or SentenceSource
    setup: objective_setup.ObjectiveSetup
    mesh: jax.sharding.Mesh
    num_steps: int
    steps_per_epoch: int
    selection_metric: str | None
    trainable_mask: dict
    params_shardings: dict
    state_shardings: TrainState
    abstract_state: TrainState  # leaves are ShapeDtypeStructs carrying the shardings
    abstract_frozen: dict  # the frozen partition's ShapeDtypeStructs, with their shardings
    meta: dict  # what checkpoints record about the run
    summary: str  # trainable / total parameters per group
    optimizer: object  # optax.GradientTransformation over the trainable partition
    learning_rate: object  # the schedule, step -> learning rate
    train_step: object
    eval_step: object
    checkpoints: checkpoint.RunCheckpoints

    @property
    def num_frozen(self) -> int:
        return self.meta["num_frozen"]

    def train_batches(self):
        return self.source.train_batches()

    def evaluate(self, trainable, frozen, split: str = "validation") -> dict | None:
        """The split's metrics ("validation", or "train" for pretraining's data.eval_train_batches), or None."""
        return self.source.evaluate(self.eval_step, trainable, frozen, self.mesh, split)

    def initial_state(self) -> tuple[TrainState, dict]:
        """(state, frozen) at step 0: the base parameters split by the mask, a fresh optimizer state."""
        trainable, frozen = partition.split(self.setup.init_params(self.params_shardings), self.trainable_mask)
        init_optimizer = jax.jit(self.optimizer.init, out_shardings=self.state_shardings.opt_state)
        rng = jax.random.key_data(jax.random.fold_in(jax.random.key(self.config.seed), 1))
        step, rng = sharding.put_host_tree(
            (np.zeros((), np.int32), np.asarray(rng)), (self.state_shardings.step, self.state_shardings.rng)
        )
        carry = self.initial_carry()
        state = TrainState(step=step, trainable=trainable, opt_state=init_optimizer(trainable), rng=rng, carry=carry)
        return state, frozen

    def initial_carry(self):
        """The objective's carry at step 0 (None for most), laid out as the state's."""
        batch_size, objective = self.config.data.batch_size, self.setup.objective
        return jax.jit(lambda: objective.initial_carry(batch_size), out_shardings=self.state_shardings.carry)()

    def compile_train_step_in_background(self, batch) -> concurrent.futures.Future:
        """Compile the train step for `batch`'s shapes in a thread; `.result()` waits (and re-raises its error).

        XLA compiles with the GIL released, so the parameters can initialise (compiling their own program)
        meanwhile: on 2 cores the two compiles overlap by ~0.7 s of a small model's start-up. The later
        `train_step(...)` call finds the compiled program in JAX's caches.
        """
        executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="compile_train_step")
        # Lowering reads only the batch's shapes and shardings: the arrays stay untouched for the real step.
        future = executor.submit(
            lambda: self.train_step.lower(self.abstract_state, self.abstract_frozen, batch).compile()
        )
        executor.shutdown(wait=False)
        return future

    def frozen_params(self) -> dict:
        """The frozen partition, rebuilt from the base (empty when everything trains)."""
        if not self.num_frozen:
            return {}
        return partition.split(self.setup.init_params(self.params_shardings), self.trainable_mask)[1]


def write_config(config, workdir: str) -> None:
    """The run's config as config.json in its workdir: written by training only, so evaluating, exporting or
    labelling with another config (an override, --evaluate) never rewrites what the run was trained with."""
    if jax.process_index() == 0:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            f.write(config.to_json_best_effort(indent=2, sort_keys=True) + "\n")


def prepare(config, workdir: str) -> Run:
    # The task first: a missing data directory is reported before anything is written.
    task_objective = config.objective.name in objective_setup.TASK_OBJECTIVES
    mixture = mixture_tasks(config.data) if config.objective.name == "prompt" and config.data.mixture else None
    task = task_inputs.get_task(config.data) if task_objective and mixture is None else None
    os.makedirs(workdir, exist_ok=True)
    if mixture is not None:
        model_dir = config.model.name_or_path if os.path.isdir(config.model.name_or_path) else None
        tokenizer = load_tokenizer(task_inputs.tokenizer_path_for(config.data, mixture[0][0], model_dir))
        setup = objective_setup.build(config, task=[t for t, _ in mixture], tokenizer=tokenizer)
        vocab_size = setup.model.config.vocab_size
        source = MixtureSource(config, mixture, setup.mixture_prompts, vocab_size, setup.objective.term_weights)
    elif config.objective.name == "prompt":
        model_dir = config.model.name_or_path if os.path.isdir(config.model.name_or_path) else None
        tokenizer = load_tokenizer(task_inputs.tokenizer_path_for(config.data, task, model_dir))
        searched = None
        if config.objective.prompt.label_words == "auto":
            searched = PromptSource.search_label_words(config, task, tokenizer, workdir)
        setup = objective_setup.build(config, task.num_labels, task=task, tokenizer=tokenizer, searched_words=searched)
        weights = setup.objective.term_weights
        source = PromptSource(config, task, setup.prompt, setup.model.config.vocab_size, weights)
    elif config.objective.name == "simcse":
        model_dir = config.model.name_or_path if os.path.isdir(config.model.name_or_path) else None
        if not (config.data.tokenizer or model_dir):
            raise ValueError("simcse: a preset model needs data.tokenizer (a tokenizer directory)")
        tokenizer = load_tokenizer(config.data.tokenizer or model_dir)
        setup = objective_setup.build(config, vocab_size=None if model_dir else len(tokenizer))
        source = SentenceSource(config, tokenizer, setup.objective.term_weights)
    elif task is not None:
        num_labels = config.model.num_labels or task.num_labels
        setup = objective_setup.build(config, num_labels)
        data = task_inputs.load(config, task, setup.model, setup.pretrained_path)
        source = ClassificationSource(config, data, setup.model.num_labels, setup.objective.term_weights)
    else:
        corpus = run_data.load(config, workdir)
        setup = objective_setup.build(config, vocab_size=len(corpus.tokenizer), tokenizer=corpus.tokenizer)
        source = PretrainingSource(config, corpus, setup.objective.term_weights)
    eval_step_fn = make_objective_eval_step(setup.objective)
    model = setup.model

    c = config.train
    if c.accumulate_steps < 1 or config.data.batch_size % c.accumulate_steps:
        raise ValueError(
            f"data.batch_size {config.data.batch_size} is not a multiple of train.accumulate_steps {c.accumulate_steps}"
        )
    steps_per_epoch = source.steps_per_epoch
    num_steps = c.num_steps or max(1, math.ceil(c.num_epochs * steps_per_epoch))

    mesh = sharding.make_mesh(config.mesh)
    boxed = setup.abstract_params(boxed=True)
    abstract = nn.meta.unbox(boxed)
    params_shardings = sharding.param_shardings(mesh, boxed)
    rules = [*setup.leading_rules, *partition.trainable_rules(config.peft, abstract, setup.peft_plan)]
    mask = partition.trainable_mask(abstract, rules)
    abstract_trainable, abstract_frozen = partition.split(abstract, mask)
    trainable_shardings, frozen_shardings = partition.split(params_shardings, mask)

    optimizer = make_optimizer(config.optimizer, num_steps)
    abstract_opt = jax.eval_shape(optimizer.init, abstract_trainable)
    opt_shardings = sharding.state_shardings_like(mesh, abstract_opt, abstract_trainable, trainable_shardings)
    replicated = sharding.replicated(mesh)
    batch_sharding = sharding.batch_sharding(mesh)
    # The objective's carry (a segment memory) has the batch on its first axis: it lies as the batches do.
    abstract_carry = jax.eval_shape(lambda: setup.objective.initial_carry(config.data.batch_size))
    carry_shardings = jax.tree.map(lambda _: batch_sharding, abstract_carry)
    state_shardings = TrainState(
        step=replicated, trainable=trainable_shardings, opt_state=opt_shardings, rng=replicated, carry=carry_shardings
    )
    shapes = TrainState(
        step=jax.ShapeDtypeStruct((), jnp.int32),
        trainable=abstract_trainable,
        opt_state=abstract_opt,
        rng=jax.ShapeDtypeStruct((2,), jnp.uint32),
        carry=abstract_carry,
    )
    abstract_state = _with_shardings(shapes, state_shardings)
    num_frozen = partition.num_params(abstract_frozen)
    meta = {
        "model": model_setup.describe_model(model),
        "base": setup.base_reference(hash_weights=num_frozen > 0),
        "params": checkpoint.describe_params(abstract_trainable, abstract_frozen),
        "num_trainable": partition.num_params(abstract_trainable),
        "num_frozen": num_frozen,
        "trainable_rules": [list(rule) for rule in rules],
    }
    train_step = jax.jit(
        make_objective_train_step(setup.objective, optimizer, c.accumulate_steps),
        in_shardings=(state_shardings, frozen_shardings, batch_sharding),
        out_shardings=(state_shardings, replicated),
        donate_argnums=0,
    )
    eval_step = jax.jit(
        eval_step_fn,
        in_shardings=(trainable_shardings, frozen_shardings, batch_sharding),
        out_shardings=replicated,
    )
    selection_metric = (c.best_metric or source.selection_metric) if source.has_validation else None
    return Run(
        config=config,
        workdir=workdir,
        source=source,
        setup=setup,
        mesh=mesh,
        num_steps=num_steps,
        steps_per_epoch=steps_per_epoch,
        selection_metric=selection_metric,
        trainable_mask=mask,
        params_shardings=params_shardings,
        state_shardings=state_shardings,
        abstract_state=abstract_state,
        abstract_frozen=_with_shardings(abstract_frozen, frozen_shardings),
        meta=meta,
        summary=peft.summary(abstract, mask),
        optimizer=optimizer,
        # Jitted: evaluated eagerly for the logs, its dozen jnp operations compiled one by one (~0.5 s).
        learning_rate=jax.jit(learning_rate_schedule(config.optimizer, num_steps)),
        train_step=train_step,
        eval_step=eval_step,
        checkpoints=checkpoint.RunCheckpoints(workdir, c.keep_checkpoints, c.async_checkpoints, selection_metric),
    )


def _with_shardings(shapes, shardings):
    """ShapeDtypeStructs that also carry their shardings (restore targets, ahead-of-time lowering)."""
    return jax.tree.map(lambda shape, s: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=s), shapes, shardings)


def describe(run: Run) -> str:
    """The run's set-up in a few lines, for the console and TensorBoard."""
    c = run.config
    lines = [
        run.source.description,
        f"model {c.model.name_or_path} ({run.meta['model']['summary']}), compute {c.model.dtype}",
        f"mesh {dict(run.mesh.shape)} over {jax.device_count()} devices in {jax.process_count()} processes",
        f"{run.num_steps} steps of {c.data.batch_size} examples ({run.steps_per_epoch} steps per epoch), "
        f"optimizer {c.optimizer.name} at {c.optimizer.learning_rate:g}",
        run.summary,
    ]
    return "\n".join(lines)
