"""transformers is imported for its tokenizers without its "PyTorch was not found" notice, and nothing else of
what it logs is lost."""

import inspect
import logging

from plmjax.hf.transformers_import import import_transformers

NOTICE = "PyTorch was not found. Models won't be available"


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_only_the_no_torch_notice_is_dropped():
    transformers = import_transformers()
    # The notice is still transformers' text (it logs it at import on machines without torch).
    assert NOTICE in inspect.getsource(transformers)
    logger, records = logging.getLogger("transformers"), _Records()
    logger.addHandler(records)  # transformers' root logger does not propagate to pytest's handler
    try:
        logger.warning(NOTICE + " and only tokenizers, configuration and file/data utilities can be used.")
        logger.warning("a tokenizer warning users need")
    finally:
        logger.removeHandler(records)
    assert records.messages == ["a tokenizer warning users need"]
    import_transformers()  # a second import adds no second filter
    assert sum(type(f).__name__ == "_DropNoTorchNotice" for f in logger.filters) == 1
