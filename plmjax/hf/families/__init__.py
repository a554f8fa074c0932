"""One explicit HF name map per family, looked up by config.json's model_type."""

from plmjax.hf.families import albert, bart, bert, distilbert, electra, gpt2, mpnet, roberta, t5, xlnet

SPECS = {
    spec.model_type: spec
    for spec in (
        bert.SPEC,
        roberta.SPEC,
        albert.SPEC,
        electra.SPEC,
        distilbert.SPEC,
        mpnet.SPEC,
        gpt2.SPEC,
        bart.SPEC,
        t5.SPEC,
        xlnet.SPEC,
    )
}


def spec_for(model_type: str):
    if model_type not in SPECS:
        raise ValueError(f"model_type {model_type!r} is not supported; supported: {sorted(SPECS)}")
    return SPECS[model_type]
