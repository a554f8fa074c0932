"""Every key a training config may set, with its default; config files start from `default_config()`.

A config is an `ml_collections.ConfigDict`, locked after the config file builds it, so a misspelt key in a
file or on the command line is an error. Keys under `model.config_overrides` stay open: they are
TransformerConfig fields, checked by name when the model is built.
"""

import ml_collections
from ml_collections import config_dict

from plmjax.models.char_cnn import ELMO_FILTERS

OPTIMIZERS = ("adamw", "adafactor", "sgd")
DECAYS = ("linear", "cosine", "constant")


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0

    c.model = ml_collections.ConfigDict()
    # An HF model directory (pretrained weights) or a preset name from plmjax.models.PRESETS (random init).
    c.model.name_or_path = "bert-base"
    c.model.head = "classification"
    c.model.num_labels = 0  # 0: the task's number of labels (1 is regression)
    # Compute dtype; parameters and optimizer state stay float32 (master weights).
    c.model.dtype = "float32"
    c.model.remat = False  # rematerialise each layer in the backward pass
    c.model.config_overrides = ml_collections.ConfigDict()  # TransformerConfig fields, e.g. num_layers=2
    # Objective bilm: ELMo's biLM (plmjax.models.elmo.ElmoBiLM; model.name_or_path is unused), its softmax the
    # word tokenizer's. bidirectional=False: the forward LSTM LM alone, of the same size per direction.
    c.model.elmo = ml_collections.ConfigDict(
        dict(
            projection_dim=512,
            cell_size=4096,
            num_layers=2,
            cell_clip=3.0,
            proj_clip=3.0,
            dropout=0.1,
            char_dim=16,
            filters=ELMO_FILTERS,  # (width, count) pairs of the character CNN
            highway_layers=2,
            max_chars=50,
            bidirectional=True,
        )
    )
    # Objective cove: CoVe's MT-LSTM (plmjax.models.cove.CoveSeq2Seq) on data.corpus_files' (source, target)
    # pairs, its vocabularies the word tokenizer's (source: every word; target: its softmax).
    c.model.cove = ml_collections.ConfigDict(dict(embed_dim=300, hidden_size=300, num_layers=2, dropout=0.2))

    c.data = ml_collections.ConfigDict()
    # A plmjax.data task ("glue/rte", "stdlib_docs", ...) or "synthetic" (random tokens, no tokenizer).
    c.data.task = "synthetic"
    # A directory with the task's files (GLUE's train.tsv and dev.tsv); it must exist. None: the tfds catalog.
    c.data.data_dir = config_dict.placeholder(str)
    # auto (local files in data_dir if given, else tfds), local, or tfds (the catalog by name; data_dir is then
    # tfds' own directory, which it downloads and prepares into). plmjax.data.tasks.SOURCES.
    c.data.source = "auto"
    c.data.tokenizer = config_dict.placeholder(str)  # default: the model directory
    c.data.max_length = 128
    c.data.batch_size = 32  # global batch, all processes together
    c.data.eval_batch_size = 64
    c.data.length_buckets = ()  # pad each batch to the shortest bucket that fits (fewer compiled shapes)
    c.data.max_train_examples = 0  # 0: all
    # JSONL files of more training examples, comma-separated: the task's text fields and a "label" or
    # "soft_labels" (plmjax.data.extra_examples; what iPET, self-training and PET's final classifier train on).
    c.data.extra_train_files = ""
    c.data.task_train = True  # False: train on data.extra_train_files only (PET's final classifier)
    c.data.max_eval_examples = 0
    # Multi-task prompted training (objective "prompt", plmjax.prompting.mixture): the tasks every batch mixes,
    # comma-separated "task" or "task=data_dir" (data.task is then unused), each with its preset prompt; drawn
    # examples-proportionally, each task's size capped at mixture_cap (T5's K; 0: no cap), then ^(1/temperature).
    c.data.mixture = ""
    c.data.mixture_cap = 0
    c.data.mixture_temperature = 1.0
    # Pretraining corpora (objective.name other than "classification"; data.task is then unused). One of:
    c.data.corpus_files = ""  # local text files, comma-separated
    c.data.corpus_tfds = ""  # a tfds catalog dataset, e.g. "wikipedia/20230601.en" or "c4/en" (split "train")
    c.data.max_documents = 0  # tfds: read at most this many documents per process (0: all)
    # blocks (blank lines separate documents), lines (a document per line), wikitext, or text (each file is one
    # document kept verbatim, newlines included: character-level LMs).
    c.data.corpus_layout = "blocks"
    c.data.validation_files = ""  # held-out text files, comma-separated; "": validation_fraction of the corpus
    # The last fraction of the documents is held out; of a single document (one text), the last fraction of its
    # tokens (nanoGPT's 90/10 split).
    c.data.validation_fraction = 0.1
    # Without data.tokenizer, one is trained on the corpus into <workdir>/tokenizer: wordpiece (BERT), bpe
    # (byte-level, RoBERTa's specials), gpt2_bpe (GPT-2's <|endoftext|>), char (one id per character) or word
    # (whitespace-separated words, every type kept; its softmax the tokenizer_vocab_size most frequent: ELMo).
    c.data.tokenizer_kind = "wordpiece"
    c.data.tokenizer_vocab_size = 8000
    c.data.tokenizer_lowercase = True  # wordpiece
    c.data.tokenizer_extra_ids = 0  # T5 sentinels <extra_id_N> (span corruption needs them: 100)
    # epochs: shuffled passes over the built examples; random_windows (clm): max_length-token windows at random
    # offsets of the token stream each step (nanoGPT's get_batch); segments (clm with a segment memory,
    # Transformer-XL): the stream cut into batch_size parallel streams, each step the next max_length tokens
    # of every one, evaluation the held-out stream in eval_batch_size whole streams.
    c.data.sampling = "epochs"
    c.data.eval_batches = 0  # pretraining: held-out batches per evaluation (0: the whole split; windows: 20)
    c.data.eval_train_batches = 0  # pretraining: also the loss on this many training batches ("train_eval")

    c.objective = ml_collections.ConfigDict()
    # classification (data.task), prompt (data.task as cloze questions, below), or a pretraining objective
    # on data.corpus_*: mlm (BERT / RoBERTa; with sentence_task, BERT's MLM + NSP or ALBERT's MLM + SOP),
    # clm (GPT, Transformer-XL), plm (XLNet's permutation LM), bilm (ELMo, model.elmo), bart (denoising), t5
    # (span corruption), electra (replaced-token detection) or distillation (DistilBERT); or text_to_text (a
    # seq2seq model on source/target pairs) or cove (CoVe's attentional LSTM on such pairs); or simcse (sentence
    # embeddings, below). See docs/pretraining.md, docs/prompting.md and docs/sentence.md.
    c.objective.name = "classification"
    c.objective.sentence_task = ""  # mlm: "", "nsp" (a bert model) or "sop" (an albert model)
    c.objective.masking = "dynamic"  # static: one mask per example; dynamic: a new mask every epoch (RoBERTa)
    # token, word (whole-word masking), span (SpanBERT), or ERNIE's phrase, entity or knowledge (both; learnt from
    # data.corpus_files: plmjax.data.pretraining.knowledge_masking)
    c.objective.mask_unit = "token"
    c.objective.mask_prob = 0.15
    c.objective.max_predictions = 0  # vocabulary logits at this many selected positions per row (0: everywhere)
    # clm or plm with a segment memory (Transformer-XL, XLNet): memory slots at evaluation (0: the model's
    # memory_length)
    c.objective.eval_memory_length = 0
    c.objective.partial_prediction = 6  # plm (XLNet): predict the last 1/K of each row's factorisation order
    c.objective.bart = ml_collections.ConfigDict(
        dict(
            infill_ratio=0.3,
            poisson_lambda=3.0,
            random_ratio=0.1,
            token_mask_ratio=0.0,
            token_delete_ratio=0.0,
            permute_sentences=True,
            rotate_document=False,
        )
    )
    c.objective.t5 = ml_collections.ConfigDict(dict(noise_density=0.15, mean_noise_span_length=3.0))
    # text_to_text: a seq2seq model (T5, BART) learns data.corpus_files' (source, target) pairs (JSON lines);
    # sources up to data.max_length tokens, targets up to target_length (each ending in EOS).
    c.objective.text_to_text = ml_collections.ConfigDict(dict(target_length=64))
    # The discriminator is model.name_or_path (a preset); the generator that fraction of its width.
    c.objective.electra = ml_collections.ConfigDict(dict(generator_fraction=0.25, rtd_weight=50.0))
    c.objective.distillation = ml_collections.ConfigDict(
        dict(
            teacher="",  # an HF directory or a preset (random init; model.config_overrides apply); "": model's
            alpha_ce=5.0,
            alpha_mlm=2.0,
            alpha_cos=1.0,
            temperature=2.0,
        )
    )
    # soft_classification: a classifier trained on soft labels with PET's distillation loss at this temperature
    # (plmjax.objectives.soft_targets; the soft labels come from data.extra_train_files).
    c.objective.soft_classification = ml_collections.ConfigDict(dict(temperature=2.0))
    # prompt (plmjax.prompting, docs/prompting.md): classification of data.task through a masked LM's mask.
    # simcse (plmjax.sentence): contrastive sentence embeddings on data.corpus_files, SimCSE's layouts: a .txt of
    # sentences (unsupervised: each sentence twice, two dropout masks) or a .csv with sent0,sent1[,hard_neg]
    # (supervised pairs or NLI triplets); data.validation_files: STS-B's dev TSV, scored by Spearman.
    c.objective.simcse = ml_collections.ConfigDict(
        dict(
            temperature=0.05,
            hard_negative_weight=0.0,  # added to each anchor's own hard negative's logit (SimCSE: 0)
            pooler="cls",  # cls (+ MLP in training), cls_before_pooler or mean
            mlp_at_test=False,  # SimCSE: False unsupervised (--mlp_only_train), True supervised
            augmentation="",  # unsupervised: "", shuffle or cutoff on the second view (plmjax.sentence.augment)
            cutoff_rate=0.1,
            # PromptBERT (pooler "mask", plmjax.sentence.prompt_embedding): each sentence inside a template with
            # [X] and [MASK], e.g. 'This sentence : "[X]" means [MASK] .'; template2: the second view's
            # ("": the same); denoise: subtract the template's own [MASK] state.
            template="",
            template2="",
            denoise=True,
        )
    )
    # early_exit (plmjax.early_exit, docs/early_exit.md): a classifier of data.task with an exit after every layer.
    c.objective.early_exit = ml_collections.ConfigDict(
        dict(
            scheme="joint",  # joint (PABEE's weights), internal (DeeBERT's second stage) or alternating (BERxiT)
            # The criterion the evaluation reports (any other applies later without retraining): entropy
            # (threshold S in [0, ln classes]), patience (threshold t, an integer) or confidence (tau in [0, 1]).
            criterion="entropy",
            threshold=0.3,
            tolerance=0.0,  # patience on regression: predictions this close agree
            confidence_weight=1.0,  # the learned confidence predictor's loss (0: not trained)
            # What the internal exits read of their layer: "classifier" (what the family's classifier reads:
            # the first token, a decoder's last non-pad token) or "mean" (the mean of the real tokens' states;
            # for encoders whose early [CLS] states carry nothing, as all-MiniLM-L6-v2's: docs/early_exit.md).
            reads="classifier",
        )
    )
    c.objective.prompt = ml_collections.ConfigDict(
        dict(
            # A plmjax.prompting.Template (set in a config file), or a preset's name (plmjax.prompting.presets,
            # e.g. "lmbff/mr"); None: the preset of data.task.
            template=None,
            # One list of words per class, in class order; None: the preset's; "auto": LM-BFF's search on the
            # training split, re-ranked on dev (plmjax.prompting.auto_label_words).
            label_words=None,
            search_candidates=0,  # "auto": candidate words per class (0: LM-BFF's 100, capped)
            search_assignments=20,  # "auto": assignments kept by training accuracy, re-ranked on dev
            # manual, soft (WARP's class embeddings) or prototypical (ProtoVerb); see plmjax.prompting.VERBALIZERS
            verbalizer="manual",
            verbalizer_options=ml_collections.ConfigDict(),  # the verbalizer's keyword arguments (open keys)
            demonstrations="",  # "" (none), random or similar: LM-BFF's, one per class after the query
            demonstration_sets=1,  # evaluation: average the class scores over this many sets (LM-BFF: 16)
            top_fraction=0.5,  # similar: draw from this fraction of each class most similar to the query
            similarity_model="",  # similar: a sentence encoder directory; "": all-MiniLM-L6-v2
            # PET's auxiliary MLM on unlabeled prompts: loss = (1 - a) CE + a MLM (PET: 1e-4); 0: off.
            auxiliary_mlm=0.0,
            # Its unlabeled examples: a file (plmjax.data.unlabeled.read_unlabeled_file; one batch per step, of
            # data.batch_size); "": the shared data's unlabeled text of the LM-BFF task.
            unlabeled_file="",
        )
    )

    c.peft = ml_collections.ConfigDict()
    # Which parameters train: "full", "head_only", "bitfit", or a method of plmjax.peft.METHODS that adds
    # parameters ("lora", "ia3", "houlsby", "pfeiffer", "prefix", "prompt", "p_tuning"; "lora+prompt" composes).
    # Frozen parameters get no gradient and no optimizer state, and are not checkpointed.
    c.peft.method = "full"
    c.peft.extra_trainable = ""  # a regex over "/"-joined parameter paths that train as well
    # The method's options (plmjax.peft.METHODS[name].defaults), e.g. rank=8, alpha=16 for LoRA; open keys.
    c.peft.options = ml_collections.ConfigDict()

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "adamw"  # adamw, adafactor or sgd
    c.optimizer.learning_rate = 2e-5
    c.optimizer.warmup_steps = -1  # -1: warmup_fraction of the run
    c.optimizer.warmup_fraction = 0.1
    c.optimizer.decay = "linear"  # linear, cosine or constant, from the peak to end_learning_rate_fraction
    c.optimizer.end_learning_rate_fraction = 0.0
    c.optimizer.weight_decay = 0.01  # not on biases, norm scales, prefixes, prompts (plmjax.peft.decay_mask)
    c.optimizer.b1 = 0.9
    c.optimizer.b2 = 0.999
    c.optimizer.eps = 1e-8
    c.optimizer.momentum = 0.9  # sgd
    c.optimizer.grad_clip_norm = 1.0  # 0: no clipping

    c.train = ml_collections.ConfigDict()
    c.train.num_steps = 0  # 0: num_epochs over the training split
    c.train.num_epochs = 3.0
    c.train.accumulate_steps = 1  # micro-batches per step (batch_size is split into them)
    c.train.log_every = 20
    c.train.eval_every = 0  # 0: once per epoch
    c.train.eval_before_training = False
    c.train.checkpoint_every = 500
    c.train.keep_checkpoints = 2  # the latest K, plus the best by the selection metric
    c.train.async_checkpoints = True
    c.train.best_metric = ""  # "": the task's selection metric

    c.mesh = ml_collections.ConfigDict()
    # Device counts per mesh axis; -1 takes the devices the other axes leave. Batches shard over data x fsdp,
    # parameters over fsdp and tensor through the logical axis rules.
    c.mesh.data = -1
    c.mesh.fsdp = 1
    c.mesh.tensor = 1
    # A CPU-only host as this many devices (0: JAX's default, one), set before JAX starts: data parallel over
    # the cores, faster than one device for small models. Ignored when XLA_FLAGS sets a device count.
    c.mesh.cpu_devices = 0
    # On a CPU backend with one device, keep freed host memory in the process (glibc malloc without mmap or
    # trimming), so each step reuses mapped pages instead of faulting in new ones: 25% faster steps for the
    # baby GPT. The process's resident memory then stays at its peak (plmjax/train/host_memory.py).
    c.mesh.cpu_keep_freed_memory = True
    # ... with every thread allocating from one malloc arena: needed once a step's temporaries pass 64 MiB
    # (BERT-base: 2.6 GB, 0.6 s per step), 15% slower for models whose temporaries fit in 64 MiB.
    c.mesh.cpu_single_malloc_arena = True
    # Lower JAX's threefry (dropout's random bits) unrolled on CPU, as JAX does on GPU and TPU: the same bits,
    # ~9x faster, and 0.55 GiB less step memory for BERT-base at batch 16 x 128 (plmjax/train/cpu_threefry.py).
    c.mesh.cpu_unroll_threefry = True

    c.distributed = ml_collections.ConfigDict()
    # Multi-host: "auto" initialises jax.distributed when these (or PLMJAX_COORDINATOR_ADDRESS,
    # PLMJAX_NUM_PROCESSES, PLMJAX_PROCESS_ID) are set, or on a cluster JAX detects itself.
    c.distributed.coordinator_address = config_dict.placeholder(str)
    c.distributed.num_processes = config_dict.placeholder(int)
    c.distributed.process_id = config_dict.placeholder(int)
    c.distributed.initialize = "auto"  # auto, always or never
    return c


def parse_config_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """The `:model=...,task=...` suffix of --config=configs/x.py:... as a ConfigDict over `defaults`.

    Values keep the type of their default (strings stay strings); an unknown name is an error.
    """
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"config argument {item!r} is not name=value; arguments: {sorted(defaults)}")
        if name not in defaults:
            raise ValueError(f"unknown config argument {name!r}; arguments: {sorted(defaults)}")
        default = defaults[name]
        if isinstance(default, bool):
            parsed[name] = value.lower() in ("1", "true", "yes")
        else:
            parsed[name] = type(default)(value) if default is not None else value
    return parsed


def cosine_schedule(config, *, steps: int, batch_size: int, learning_rate: float, evaluations: int, log_every: int):
    """A run of `steps` steps of `batch_size` rows (evaluated in batches as large), the peak learning rate
    reached after 5% of them and decayed on a cosine, evaluated and checkpointed `evaluations` times."""
    config.data.batch_size = batch_size
    config.data.eval_batch_size = batch_size
    config.optimizer.learning_rate = learning_rate
    config.optimizer.warmup_steps = max(1, steps // 20)
    config.optimizer.decay = "cosine"
    config.train.num_steps = steps
    config.train.eval_every = max(1, steps // evaluations)
    config.train.checkpoint_every = max(1, steps // evaluations)
    config.train.log_every = log_every


# size -> (TransformerConfig fields, max_length, batch size, steps, tokenizer vocabulary, peak learning rate).
# tiny: seconds on a CPU, for tests; small: a 4-layer, 256-wide model (issue 6's real-corpus BERT).
SIZES = {
    "tiny": (dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), 32, 16, 40, 400, 3e-3),
    "small": (dict(hidden_size=256, num_layers=4, num_heads=4, intermediate_size=1024), 64, 32, 1000, 8000, 1e-3),
    "base": ({}, 128, 256, 100_000, 30522, 1e-4),
}


def pretraining_config(objective: str, preset: str, *, size: str, corpus: str, layout: str, tokenizer_kind: str):
    """A config for `objective` on `corpus` (comma-separated files) with the `size` version of `preset`."""
    if size not in SIZES:
        raise ValueError(f"size={size!r}; sizes: {sorted(SIZES)}")
    fields, max_length, batch_size, steps, vocab_size, learning_rate = SIZES[size]
    config = default_config()
    config.objective.name = objective
    config.model.name_or_path = preset
    config.model.config_overrides = dict(fields, max_position_embeddings=max(max_length, 64) if fields else 512)
    config.data.corpus_files = corpus
    config.data.corpus_layout = layout
    config.data.tokenizer_kind = tokenizer_kind
    config.data.tokenizer_vocab_size = vocab_size
    config.data.max_length = max_length
    config.data.batch_size = batch_size
    config.data.eval_batch_size = batch_size
    config.optimizer.learning_rate = learning_rate
    config.optimizer.warmup_steps = max(1, steps // 20)
    config.optimizer.weight_decay = 0.01
    if size != "tiny":
        # Vocabulary logits only where MLM predicts (15% of the tokens, BERT's max_predictions_per_seq); the
        # collator selects round(0.15 n) <= this many of a row's n tokens.
        config.objective.max_predictions = int(0.15 * max_length) + 1
    config.train.num_steps = steps
    config.train.log_every = 1 if size == "tiny" else 50
    config.train.eval_every = steps if size == "tiny" else max(steps // 10, 1)
    config.train.checkpoint_every = steps if size == "tiny" else 1000
    config.train.keep_checkpoints = 1
    return config
