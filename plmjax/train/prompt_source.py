"""A prompt run's batches and evaluation (objective.name = "prompt"): the task's examples as prompts
(plmjax.prompting.prompt_data), with LM-BFF's demonstrations when objective.prompt.demonstrations is set.
Evaluation is the classification source's: the objective's loss and the task's metrics over every prediction.
"""

import jax
import numpy as np

from plmjax.data.task_inputs import RunData, check_batch_size, read_split, training_examples
from plmjax.prompting import auto_label_words
from plmjax.prompting import from_config as prompt_from_config
from plmjax.prompting.demonstrations import DemonstrationPool
from plmjax.prompting.prompt_data import DemonstrationBatches, WithUnlabeledMlm, as_prompt_example, encode_prompts
from plmjax.prompting.template import PromptError
from plmjax.train.sources import ClassificationSource


def sentence_embeddings(examples: list[dict], model_path: str) -> np.ndarray:
    """LM-BFF's similarity space: a sentence encoder's embedding of each example's text (a pair joined by a
    space), by default all-MiniLM-L6-v2."""
    import plmjax
    from plmjax.hf.bundled import minilm_path
    from plmjax.models.sentence_encoder import encode_sentences

    path = model_path or minilm_path()
    model, params = plmjax.from_pretrained(path)
    texts = [" ".join(e[k] for k in ("text_a", "text_b") if k in e) for e in examples]
    return encode_sentences(model, params, plmjax.load_tokenizer(path), texts)


def _read(task, split: str, limit: int = 0) -> list[dict]:
    return [as_prompt_example(e, task.text_fields) for e in read_split(task, split, limit)]


class PromptSource(ClassificationSource):
    @staticmethod
    def search_label_words(config, task, tokenizer, workdir: str) -> list[list[str]]:
        """LM-BFF's automatic label words on the run's train and dev splits (plmjax.prompting.auto_label_words)."""
        c = config.data
        dev = _read(task, "validation", c.max_eval_examples) if "validation" in task.splits else None
        template = prompt_from_config.template_of(config.objective.prompt, task)
        train = [as_prompt_example(e, task.text_fields) for e in training_examples(c, task)]
        return auto_label_words.for_run(config, task, tokenizer, template, train, dev, workdir)

    def __init__(self, config, task, spec, vocab_size: int, term_weights: dict):
        c, p = config.data, config.objective.prompt
        self.config, self.spec, self.vocab_size, self.prompt_config = config, spec, vocab_size, p
        self.train_examples = [as_prompt_example(e, task.text_fields) for e in training_examples(c, task)]
        check_batch_size(task, len(self.train_examples), c.batch_size)
        eval_examples = _read(task, "validation", c.max_eval_examples) if "validation" in task.splits else None
        self.demonstrations = p.demonstrations
        if p.demonstrations not in ("", "random", "similar"):
            raise PromptError(f"objective.prompt.demonstrations={p.demonstrations!r}; choose '', random or similar")
        if p.demonstrations and p.demonstration_sets > 1 and spec.verbalizer.term_weights:
            raise PromptError(
                f"the {p.verbalizer} verbalizer's own losses need one prompt per example: set "
                "objective.prompt.demonstration_sets=1"
            )
        if p.demonstrations:
            labels = [e["label"] for e in self.train_examples]
            embeddings = None
            if p.demonstrations == "similar":
                embeddings = sentence_embeddings(self.train_examples, p.similarity_model)
            self.pool = DemonstrationPool(
                self.train_examples,
                labels,
                task.num_labels,
                selection=p.demonstrations,
                embeddings=embeddings,
                top_fraction=p.top_fraction,
                seed=config.seed,
            )
            train_features = {"labels": np.asarray(labels, np.int32)}
            eval_features = None if eval_examples is None else {"examples": eval_examples}
        else:
            train_features = self._encode(self.train_examples)
            eval_features = None if eval_examples is None else self._encode(eval_examples)
        num_eval = 0 if eval_examples is None else len(eval_examples)
        split_features = lambda split: self._features(_read(task, split))  # noqa: E731
        data = RunData(task, train_features, eval_features, len(self.train_examples), num_eval, split_features)
        super().__init__(config, data, task.num_labels, term_weights)
        self.description += f"; prompt {spec.template}, label words {spec.label_words}" + (
            f", {p.demonstrations} demonstrations" if p.demonstrations else ""
        )

    def _encode(self, examples):
        return encode_prompts(examples, self.spec.template, self.spec.tokenizer, self.config.data.max_length,
                              self.vocab_size)  # fmt: skip

    def encode_examples(self, examples: list[dict]) -> dict:
        """Any examples (the task's text fields) as this run's prompts, without demonstrations."""
        if self.demonstrations:
            raise PromptError("scoring other examples needs a run without demonstrations")
        task = self.data.task
        return self._encode([{"label": 0, **as_prompt_example(e, task.text_fields)} for e in examples])

    def _features(self, examples):
        return {"examples": examples} if self.demonstrations else self._encode(examples)

    def _demonstration_batches(self, queries, train: bool, in_pool: bool, embeddings=None):
        c = self.config
        return DemonstrationBatches(
            queries, self.pool, self.spec.template, self.spec.tokenizer, self.spec.demo_word_ids,
            c.data.max_length, self.vocab_size, c.data.batch_size if train else c.data.eval_batch_size,
            seed=c.seed, train=train, sets=1 if train else self.prompt_config.demonstration_sets,
            in_pool=in_pool, query_embeddings=embeddings,
            process_index=jax.process_index(), process_count=jax.process_count(),
            length_buckets=c.data.length_buckets,
        )  # fmt: skip

    def train_batches(self):
        if not self.demonstrations:
            batches = super().train_batches()
        else:
            batches = self._demonstration_batches(self.train_examples, train=True, in_pool=True)
        if not self.prompt_config.auxiliary_mlm:
            return batches
        return self._with_unlabeled_mlm(batches)

    def _with_unlabeled_mlm(self, batches):
        """PET's auxiliary MLM batches, of the unlabeled file or the shared data's unlabeled text
        (plmjax.data.unlabeled.unlabeled_for_task)."""
        from plmjax.data.pretraining.collators import MlmCollator
        from plmjax.data.unlabeled import unlabeled_for_task

        c = self.config
        examples, _ = unlabeled_for_task(self.data.task, self.train_examples, self.prompt_config.unlabeled_file)
        features = self.encode_examples(examples)
        collator = MlmCollator.from_tokenizer(
            self.spec.tokenizer, c.data.max_length, batch_size=c.data.batch_size // jax.process_count()
        )
        return WithUnlabeledMlm(batches, features, collator, c.data.batch_size, c.seed, jax.process_index(),
                                jax.process_count())  # fmt: skip

    def eval_batches(self, split: str = "validation"):
        if not self.demonstrations:
            return super().eval_batches(split)
        features = self.data.eval_features if split == "validation" else self.data.split_features(split)
        queries = features["examples"]
        embeddings = None
        if self.demonstrations == "similar":
            embeddings = features.setdefault(
                "embeddings", sentence_embeddings(queries, self.prompt_config.similarity_model)
            )
        return self._demonstration_batches(queries, train=False, in_pool=False, embeddings=embeddings)
