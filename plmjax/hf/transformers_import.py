"""transformers, imported for its tokenizers without its notice that PyTorch is missing.

plmjax uses transformers only for tokenizers (and configuration files), which need no PyTorch; on a machine
without torch, transformers' import logs "PyTorch was not found. Models won't be available ...", which reads
like a problem with plmjax's install. Only that record is dropped; every other transformers message stays.
"""

import logging


class _DropNoTorchNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("PyTorch was not found")


def import_transformers():
    """The transformers module (imported on first use: it costs about a second)."""
    logger = logging.getLogger("transformers")
    if not any(isinstance(f, _DropNoTorchNotice) for f in logger.filters):
        logger.addFilter(_DropNoTorchNotice())
    import transformers

    return transformers
