"""Training a WordPiece (BERT) or byte-level BPE (GPT-2 / RoBERTa) tokenizer on local text, with no download.

The result is saved as a directory holding `tokenizer.json` and `tokenizer_config.json` (special tokens
included), which `transformers.AutoTokenizer.from_pretrained(directory)` loads. `extra_ids=n` appends T5's
sentinels `<extra_id_{n-1}>` ... `<extra_id_0>` as special tokens (`<extra_id_0>` is the last id), for span
corruption.
"""

import os
from collections.abc import Iterable

WORDPIECE_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# RoBERTa's order, so <s>=0, <pad>=1, </s>=2, <unk>=3 as in its vocabulary; <mask> is 4 here (last in RoBERTa's).
ROBERTA_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
GPT2_SPECIAL_TOKENS = ("<|endoftext|>",)
BPE_STYLES = ("roberta", "gpt2")


def _texts(files: Iterable[str] | None, texts: Iterable[str] | None) -> Iterable[str]:
    if (files is None) == (texts is None):
        raise ValueError("give exactly one of `files` (paths of text files) or `texts` (an iterable of strings)")
    if texts is not None:
        return texts
    files = list(files)
    for path in files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such text file: {path}")

    def lines():
        for path in files:
            with open(path, encoding="utf-8") as handle:
                yield from handle

    return lines()


def _save(tokenizer, output_dir: str, model_input_names: list[str], extra_ids: int, **special_tokens):
    """Adds `extra_ids` T5 sentinels (`<extra_id_0>` = the last id, counting down), saves and returns the wrapper."""
    from plmjax.hf.transformers_import import import_transformers

    transformers = import_transformers()
    if extra_ids:
        sentinels = [f"<extra_id_{index}>" for index in reversed(range(extra_ids))]
        tokenizer.add_special_tokens(sentinels)
        special_tokens["extra_special_tokens"] = sentinels
    wrapped = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, model_input_names=model_input_names, **special_tokens
    )
    os.makedirs(output_dir, exist_ok=True)
    wrapped.save_pretrained(output_dir)
    return wrapped


def train_wordpiece_tokenizer(
    output_dir: str,
    *,
    files: Iterable[str] | None = None,
    texts: Iterable[str] | None = None,
    vocab_size: int = 30522,
    min_frequency: int = 2,
    lowercase: bool = True,
    model_max_length: int = 512,
    extra_ids: int = 0,
):
    """A BERT-style WordPiece tokenizer ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, `##` continuations, pairs as
    `[CLS] A [SEP] B [SEP]` with token type 1 for B) trained on `files` or `texts`; saved and returned."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(WORDPIECE_SPECIAL_TOKENS),
        continuing_subword_prefix="##",
    )
    tokenizer.train_from_iterator(_texts(files, texts), trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return _save(
        tokenizer,
        output_dir,
        ["input_ids", "token_type_ids", "attention_mask"],
        extra_ids,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )


def train_bpe_tokenizer(
    output_dir: str,
    *,
    files: Iterable[str] | None = None,
    texts: Iterable[str] | None = None,
    vocab_size: int = 50265,
    min_frequency: int = 2,
    style: str = "roberta",
    model_max_length: int = 512,
    extra_ids: int = 0,
):
    """A byte-level BPE tokenizer (any text encodes, no [UNK] needed; `Ġ` marks a word that follows a space).

    `style="roberta"`: <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4, sequences `<s> A </s>`, pairs `<s> A </s></s> B
    </s>`. `style="gpt2"`: a single <|endoftext|> (bos = eos = unk, no padding token), nothing added around a
    sequence. Trained on `files` or `texts`; saved and returned.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if style not in BPE_STYLES:
        raise ValueError(f"unknown BPE style {style!r}; expected one of {BPE_STYLES}")
    special = ROBERTA_SPECIAL_TOKENS if style == "roberta" else GPT2_SPECIAL_TOKENS
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special),
        # All 256 byte symbols, so that text unseen in training still encodes without an unknown token.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_texts(files, texts), trainer)
    if style == "gpt2":
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
        return _save(
            tokenizer,
            output_dir,
            ["input_ids", "attention_mask"],
            extra_ids,
            bos_token="<|endoftext|>",
            eos_token="<|endoftext|>",
            unk_token="<|endoftext|>",
            model_max_length=model_max_length,
        )
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", tokenizer.token_to_id("</s>")), ("<s>", tokenizer.token_to_id("<s>")), trim_offsets=True
    )
    return _save(
        tokenizer,
        output_dir,
        ["input_ids", "attention_mask"],
        extra_ids,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
        model_max_length=model_max_length,
    )
