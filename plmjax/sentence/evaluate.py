"""The STS table of a sentence encoder (SimCSE's protocol: Spearman of cosine, SentEval's "all" setting), as
shipped, whitened or flow-calibrated, with the anisotropy of its embeddings, and optionally SentEval's transfer
table (a logistic-regression probe on the frozen embeddings, plmjax.sentence.transfer).

    python -m plmjax.sentence.evaluate                          # all-MiniLM-L6-v2 (the bundled weights)
    python -m plmjax.sentence.evaluate --model=all-mpnet-base-v2 # the other bundled encoder
    python -m plmjax.sentence.evaluate --model=DIR --whiten=256 # BERT-whitening, k = 256, fitted on the STS text
    python -m plmjax.sentence.evaluate --flow-steps=2000        # BERT-flow, fitted on the STS text
    python -m plmjax.sentence.evaluate --transfer               # + MR, CR, SUBJ, MPQA, MRPC, TREC
    python -m plmjax.sentence.evaluate --model=DIR --pooling=cls_before_pooler  # an unsupervised SimCSE model

Tasks: STS12-16 (SentEval's files, `<data>/senteval/STS`), STS-B dev (`<data>/stsb/dev.tsv`, GLUE's; its test
labels are not public) and SICK-R (`<data>/senteval/SICK/SICK_test_annotated.txt`); a missing file is an error
naming it. Embeddings: L2-normalised, mean-pooled by default (sentence-transformers' recipe,
plmjax.models.sentence_encoder; --pooling cls reads the pooler, where a SimCSE run exports its MLP). Whitening
and the flow are fitted, as Su et al. and Li et al. do, on every sentence of the STS tasks (no labels).
"""

import argparse
import os

import numpy as np

from plmjax.sentence import anisotropy, sts, transfer
from plmjax.sentence.whitening import apply_whitening, fit_whitening


def load_tasks(data_root: str) -> dict:
    """{task: {subset: (first, second, gold)}}: STS12-16 by subset, STS-B and SICK-R as one subset each."""
    tasks = {year: sts.read_sts_year(os.path.join(data_root, "senteval", "STS"), year) for year in sts.STS_SUBSETS}
    tasks["STS-B (dev)"] = {"dev": sts.read_stsb(os.path.join(data_root, "stsb", "dev.tsv"))}
    tasks["SICK-R"] = {"test": sts.read_sick(os.path.join(data_root, "senteval", "SICK", "SICK_test_annotated.txt"))}
    return tasks


def evaluate(encode, tasks: dict) -> dict:
    """{task: sts_scores} and "avg": the mean of the tasks' "all" Spearman."""
    results = {task: sts.sts_scores(encode, subsets) for task, subsets in tasks.items()}
    results["avg"] = float(np.mean([r["all"] for r in results.values()]))
    return results


def main(argv=None) -> dict:
    import plmjax
    from plmjax.data.pretraining.default_corpora import DATA_ROOT
    from plmjax.hf.bundled import resolve_model
    from plmjax.models.sentence_encoder import POOLINGS, encode_sentences
    from plmjax.sentence.prompt_embedding import encode_with_template

    p = argparse.ArgumentParser(prog="python -m plmjax.sentence.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="an HF encoder directory, or all-MiniLM-L6-v2 or "
                   "all-mpnet-base-v2 (the bundled weights)")  # fmt: skip
    p.add_argument("--data", default=DATA_ROOT, help="the shared data folder")
    p.add_argument("--whiten", type=int, default=0, help="BERT-whitening keeping k dimensions (0: none; -1: all)")
    p.add_argument("--flow-steps", type=int, default=0, help="BERT-flow: Adam steps of maximum likelihood (0: none)")
    p.add_argument(
        "--pooling",
        default="mean",
        choices=POOLINGS,
        help="mean, cls (the pooler: SimCSE's MLP) or cls_before_pooler (unsupervised SimCSE's test-time [CLS])",
    )
    p.add_argument(
        "--template",
        default="",
        help="PromptBERT: embed each sentence at this template's [MASK], e.g. "
        "'This sentence : \"[X]\" means [MASK] .' (denoised; --no-denoise keeps the raw state)",
    )
    p.add_argument("--no-denoise", action="store_true")
    p.add_argument("--embeddings", default="", help="an .npz cache of texts and their embeddings (read if present)")
    p.add_argument("--transfer", action="store_true", help="also SentEval's transfer tasks (plmjax.sentence.transfer)")
    args = p.parse_args(argv)
    path = resolve_model(args.model)
    tasks = load_tasks(args.data)
    sentences = sorted(
        {s for subsets in tasks.values() for first, second, _ in subsets.values() for s in first + second}
    )
    cache = {}
    if args.embeddings and os.path.exists(args.embeddings):
        saved = np.load(args.embeddings)
        cache = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
    model = None

    def encode(texts):
        """Each text's embedding, encoding (in one pass) those the cache does not hold yet."""
        nonlocal model
        missing = sorted(set(texts) - cache.keys())
        if missing:
            if model is None:
                model = (*plmjax.from_pretrained(path), plmjax.load_tokenizer(path))
            if args.template:
                vectors = encode_with_template(*model, missing, args.template, denoise=not args.no_denoise)
            else:
                vectors = encode_sentences(model[0], model[1], model[2], missing, pooling=args.pooling)
            cache.update(zip(missing, vectors, strict=True))
            if args.embeddings:
                np.savez(args.embeddings, texts=np.asarray(list(cache)), vectors=np.stack(list(cache.values())))
        return np.stack([cache[t] for t in texts])

    if args.transfer:  # every text in one encoding pass
        encode(sentences + transfer_texts(args.data))
    corpus = encode(sentences)
    variants = {"as shipped": encode}
    report = {"as shipped": anisotropy.average_random_cosine(corpus)}
    if args.whiten:
        mean, kernel = fit_whitening(corpus, None if args.whiten < 0 else args.whiten)
        name = f"whitened (k={kernel.shape[1]})"
        variants[name] = lambda texts: apply_whitening(encode(texts), mean, kernel)
        report[name] = anisotropy.average_random_cosine(apply_whitening(corpus, mean, kernel))
    if args.flow_steps:
        from plmjax.sentence.flow import fit_flow, flow_forward

        flow, flow_params, losses = fit_flow(corpus, steps=args.flow_steps)
        print(f"BERT-flow: negative log-likelihood {losses[0]:.1f} -> {losses[-1]:.1f} nats per embedding")
        variants["flow"] = lambda texts: np.asarray(flow_forward(flow, flow_params, encode(texts))[0])
        report["flow"] = anisotropy.average_random_cosine(flow_forward(flow, flow_params, corpus)[0])
    results = {name: evaluate(fn, tasks) for name, fn in variants.items()}
    names = [t for t in tasks] + ["avg"]
    print(f"{path}: Spearman x 100 of cosine ('all' setting), {len(sentences):,} sentences, {args.pooling} pooling")
    print("| variant | " + " | ".join(names) + " | random-pair cosine |")
    print("|---" * (len(names) + 2) + "|")
    for name, result in results.items():
        cells = [100 * (result[t]["all"] if t != "avg" else result[t]) for t in names]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + f" | {report[name]:.3f} |")
    out = {"results": results, "anisotropy": report}
    if args.transfer:
        out["transfer"] = {name: transfer.evaluate_transfer(fn, args.data) for name, fn in variants.items()}
        names = [*transfer.TASKS, "avg"]
        print("\nTransfer: test accuracy x 100 of a logistic-regression probe (SentEval's protocol)")
        print("| variant | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for name, result in out["transfer"].items():
            cells = [100 * (result[t]["test"] if t != "avg" else result[t]) for t in names]
            print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return out


def transfer_texts(data_root: str) -> list[str]:
    """Every sentence the transfer tasks encode."""
    texts = [t for task in transfer.CV_TASKS for t in transfer.read_cv_task(data_root, task)[0]]
    for split in ("train", "test"):
        first, second, _ = transfer.read_mrpc(
            os.path.join(data_root, "senteval", "MRPC", f"msr_paraphrase_{split}.txt")
        )
        texts += first + second + transfer.read_trec(os.path.join(data_root, "trec", f"TREC.{split}.all"))[0]
    return texts


if __name__ == "__main__":
    main()
