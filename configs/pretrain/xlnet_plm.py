"""XLNet permutation-LM pretraining (Yang et al. 2019) with a byte-level BPE trained on the corpus.

Documents are packed into rows; each row draws a factorisation order and predicts its last 1/K tokens
(partial prediction, K = 6) through the query stream. With memory > 0, as XLNet pretrains, the text is cut into
batch-size parallel streams instead, each step takes the next segment of each (data.sampling=segments, every
segment permuted on its own), and the Transformer-XL memory of the earlier segments rides in the train state;
evaluation walks the held-out streams segment by segment with that memory.

python -m plmjax.main --config=configs/pretrain/xlnet_plm.py:size=small --workdir=/tmp/xlnet_plm
python -m plmjax.main --config=configs/pretrain/xlnet_plm.py:size=small,memory=64 --workdir=/tmp/xlnet_plm_mem64

Arguments: size (tiny, small, base), corpus (text files, comma-separated), layout (blocks, lines, wikitext, text),
memory (memory slots per layer; 0: none, independent rows).
"""

from plmjax.data.pretraining.default_corpora import BOTH_CORPORA
from plmjax.train.config import parse_config_arg, pretraining_config


def get_config(arg=None):
    arg = parse_config_arg(arg, size="small", corpus=BOTH_CORPORA, layout="blocks", memory=0)
    config = pretraining_config(
        "plm", "xlnet-base-cased", size=arg.size, corpus=arg.corpus, layout=arg.layout, tokenizer_kind="bpe"
    )
    config.objective.max_predictions = 0  # the targets are the query stream's, not MLM positions
    if arg.memory:
        config.model.config_overrides.memory_length = arg.memory
        config.data.sampling = "segments"
        # The held-out text read as 8 whole streams (long ones: more segments that see a memory), still
        # divisible over 8 devices.
        config.data.eval_batch_size = 8
    return config
