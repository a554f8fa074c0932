"""A small GPT-2 that plmjax pretrains itself on real text, for in-context learning (no causal LM's weights can be
installed here): 6 layers, 384 wide, 6 heads, a 256-token context (four MR demonstrations and a query fit), a
byte-level BPE of 8,000 tokens trained on the corpus.

python benchmarks/build_mlm_corpus.py    # WikiText-2, tinyshakespeare, SentEval MR/CR/SUBJ/MPQA (no LM-BFF test text)
python -m plmjax.main --config=configs/gpt2_icl.py --workdir=/tmp/gpt2_icl
python benchmarks/icl_real.py --workdir=/tmp/gpt2_icl

Arguments (after the colon, comma-separated): corpus (the folder build_mlm_corpus.py wrote; train.txt and
held_out.txt, one document a line), steps (default 1000: about four passes over the corpus's tokens).
"""

from plmjax.train.config import default_config, parse_config_arg


def get_config(arg=None):
    arg = parse_config_arg(arg, corpus="/tmp/plmjax_mlm_corpus", steps=1000)
    config = default_config()
    config.objective.name = "clm"
    config.model.name_or_path = "gpt2"
    config.model.config_overrides = dict(
        hidden_size=384, num_layers=6, num_heads=6, intermediate_size=1536, max_position_embeddings=256
    )
    config.data.corpus_files = f"{arg.corpus}/train.txt"
    config.data.validation_files = f"{arg.corpus}/held_out.txt"
    config.data.corpus_layout = "lines"
    config.data.tokenizer_kind = "gpt2_bpe"
    config.data.tokenizer_vocab_size = 8000
    config.data.max_length = 256
    config.data.batch_size = 16
    config.data.eval_batch_size = 32
    config.data.eval_batches = 20
    config.optimizer.learning_rate = 6e-4
    config.optimizer.warmup_steps = 50
    config.optimizer.decay = "cosine"
    config.optimizer.weight_decay = 0.1
    config.train.num_steps = arg.steps
    config.train.log_every = 50
    config.train.eval_every = max(arg.steps // 5, 1)
    config.train.checkpoint_every = max(arg.steps // 5, 1)
    config.train.keep_checkpoints = 1
    return config
