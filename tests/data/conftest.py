"""Fixtures for the data tests: a tiny BERT-style WordPiece tokenizer, built in memory (no files, no hub)."""

import pytest

# The words of the test sentences, space-separated; anything else is [UNK].
TINY_WORDS = (
    "the a an cat dog bird sat ran flew on under over mat tree sky fast slow big small red blue green is was not "
    "and or it he she they saw quick brown fox jumps lazy"
)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *TINY_WORDS.split()])}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )
