"""Tiny masked LMs (BERT, RoBERTa from transformers, random weights) with tokenizers over their 99 ids, shared
by the prompting tests: a WordPiece tokenizer (BERT's conventions) and a byte-level word tokenizer (RoBERTa's:
the leading space is part of a token)."""

import pytest

import plmjax
from tests.hf.tiny_models import make_hf_model

WORDS = (  # noqa: SIM905 (one sentence of words reads better than a list of 50 lines)
    "it was great terrible good bad fine the movie film a an is and but not very . , ? ! i liked hated "
    "this that plot acting food service slow fast day park book read best ever have yes maybe no"
).split()  # new words go last: the ids of the others stay


def wordpiece_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    vocab |= {f"##{w}": len(vocab) + i for i, w in enumerate(["s", "ed", "ing"])}
    vocab |= {f"w{i}": i for i in range(len(vocab), 99)}
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def byte_level_word_tokenizer():
    """RoBERTa's specials (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 4) and whole words, each with and without
    its leading space ("Ġgreat", "great")."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for word in WORDS:
        for token in (word, "Ġ" + word):
            if len(vocab) < 99 and token not in vocab:
                vocab[token] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
    )


# ALBERT, ELECTRA and DistilBERT prompts use the WordPiece tokenizer: the ids are what both sides see.
TOKENIZERS = {
    "bert": wordpiece_tokenizer,
    "roberta": byte_level_word_tokenizer,
    "albert": wordpiece_tokenizer,
    "electra": wordpiece_tokenizer,
    "distilbert": wordpiece_tokenizer,
}


@pytest.fixture(scope="session")
def masked_lm(tmp_path_factory):
    """family -> (transformers model, plmjax model, params, tokenizer), built once per session."""
    built = {}

    def get(family):
        if family not in built:
            reference = make_hf_model(family, "mlm")
            path = tmp_path_factory.mktemp(family)
            reference.save_pretrained(path)
            built[family] = (reference, *plmjax.from_pretrained(str(path), head="mlm"), TOKENIZERS[family]())
        return built[family]

    return get
