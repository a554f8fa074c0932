"""Early exit's wall-clock speed-up, measured in one process: plmjax's full model against its early-exit
inference (batch 1: the while loop; batch 32: rows leave the working batch), and transformers (PyTorch) running
the same exits with the same weights (a loop over BertLayer modules, the same heads, the same criterion,
stopping at the exit; batched: exited rows dropped from the batch). Results go to docs/early_exit.md.

# a trained run (configs/early_exit.py), its validation examples:
python benchmarks/early_exit_speed.py --config=configs/early_exit.py:task=glue/rte --workdir=/tmp/ee_rte_joint \
    --criterion=entropy --threshold=0.4
# smoke: all-MiniLM-L6-v2 with fresh (random) exit heads on random token ids
python benchmarks/early_exit_speed.py --smoke --examples=16 --criterion=entropy --threshold=0.6

BERT-family encoders (MiniLM is one): the PyTorch side builds BERT's layers and pooler.
"""

import argparse
import sys
import tempfile
import time

import jax
import numpy as np
import torch
import transformers

import plmjax
from plmjax.early_exit import add_exit_params, criteria, exit_batched, exit_one, num_exits
from plmjax.early_exit.heads import CONFIDENCE, HEADS, split_params
from plmjax.early_exit.sweep import wall_clock


def torch_exits(hf_model, heads, confidence, criterion, batch) -> tuple[np.ndarray, np.ndarray]:
    """(exit layers, predictions) of transformers' BertModel run layer by layer, rows leaving as they exit."""
    to = lambda a: torch.from_numpy(np.asarray(a).copy())  # noqa: E731
    pooler_w, pooler_b = to(heads["pooler"]["dense"]["kernel"]), to(heads["pooler"]["dense"]["bias"])
    out_w, out_b = to(heads["classifier"]["out"]["kernel"]), to(heads["classifier"]["out"]["bias"])
    conf_w, conf_b = to(confidence["kernel"]), to(confidence["bias"])
    ids, mask = to(batch["input_ids"]).long(), to(batch["attention_mask"])
    types = to(batch["token_type_ids"]).long() if "token_type_ids" in batch else None
    rows, layers = ids.shape[0], len(hf_model.encoder.layer)
    exit_layer, predicted = np.zeros(rows, np.int64), np.zeros(rows, np.int64)
    with torch.no_grad():
        x = hf_model.embeddings(input_ids=ids, token_type_ids=types)
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        working = torch.arange(rows)
        count, previous = torch.zeros(rows, dtype=torch.long), torch.full((rows,), -1)
        for k in range(layers):
            x = hf_model.encoder.layer[k](x, attention_mask=bias)
            if k < layers - 1:
                logits = torch.tanh(x[:, 0] @ pooler_w[k] + pooler_b[k]) @ out_w[k] + out_b[k]
            else:
                logits = hf_model.classify(x)
            prediction = logits.argmax(-1)
            count = torch.where((prediction == previous) & (k > 0), count + 1, 0)
            probs = torch.softmax(logits, -1)
            if criterion.name == "entropy":
                exits = -(probs * torch.log(probs)).sum(-1) < criterion.threshold
            elif criterion.name == "patience":
                exits = count >= criterion.threshold
            else:
                u = torch.sigmoid(torch.cat([x[:, 0], probs], -1) @ conf_w + conf_b)[:, 0]
                exits = u > criterion.threshold
            exits = exits | (k == layers - 1)
            exit_layer[working[exits].numpy()] = k + 1
            predicted[working[exits].numpy()] = prediction[exits].numpy()
            keep = ~exits
            if not keep.any():
                break
            x, bias, working = x[keep], bias[keep], working[keep]
            count, previous = count[keep], prediction[keep]
    return exit_layer, predicted


def torch_model(model, params):
    """transformers' BertForSequenceClassification with plmjax's backbone and classifier weights, with a
    classify(x) that runs its pooler and classifier on a layer's output."""
    backbone, _ = split_params(params)
    with tempfile.TemporaryDirectory() as directory:
        plmjax.save_pretrained(model, backbone, directory)
        hf = transformers.AutoModelForSequenceClassification.from_pretrained(directory, attn_implementation="eager")
    hf.eval()
    bert = hf.bert
    bert.classify = lambda x: hf.classifier(bert.pooler(x))
    return bert


def time_torch(bert, heads, confidence, criterion, units, repeats=3) -> float:
    best = float("inf")
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for unit in units:
            torch_exits(bert, heads, confidence, criterion, unit)
        best = min(best, time.perf_counter() - start)
    return best


def smoke_setup(examples: int, length: int):
    from plmjax.hf.bundled import minilm_path

    model, params = plmjax.from_pretrained(minilm_path(), head="classification", num_labels=2)
    params = add_exit_params(model, params, jax.random.key(0))
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(examples, length)).astype(np.int32)
    ids[:, 0], ids[:, -1] = 101, 102
    batch = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return model, params, [{k: v[i : i + 32] for k, v in batch.items()} for i in range(0, examples, 32)]


def main(argv=None):
    from plmjax.train.config_files import load_config, split_overrides

    rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config")
    p.add_argument("--workdir")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--examples", type=int, default=64)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--criterion", default="entropy", choices=criteria.CRITERIA)
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(rest)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.smoke:
        model, params, batches = smoke_setup(args.examples, args.length)
    else:
        from plmjax.train.early_exit_evaluate import load, split_batches

        model, params, run = load(load_config(args.config, overrides), args.workdir)
        batches = split_batches(run, "validation", 32)[0]
    criterion = criteria.make_criterion(args.criterion, args.threshold, model.num_labels, num_exits(model))
    bert = torch_model(model, params)
    exits = split_params(params)[1]
    heads, confidence = exits[HEADS], exits[CONFIDENCE]
    print(f"{sum(len(b['input_ids']) for b in batches)} examples, {args.criterion} {args.threshold}")
    print("| batch | plmjax full s | plmjax early exit s | speed-up | torch early exit s | plmjax / torch |")
    print("|---|---|---|---|---|---|")
    for batch_size in (1, 32):
        units = batches
        if batch_size == 1:
            units = [{k: v[i : i + 1] for k, v in b.items()} for b in batches for i in range(len(b["input_ids"]))]
        early, full = wall_clock(model, params, batches, criterion, batch_size)
        torch_time = time_torch(bert, heads, confidence, criterion, units)
        print(f"| {batch_size} | {full:.3f} | {early:.3f} | {full / early:.2f}x | {torch_time:.3f} | "
              f"{torch_time / early:.2f}x |")  # fmt: skip
    # The two implementations exit at the same layers with the same predictions.
    run_exits = exit_batched if len(batches[0]["input_ids"]) > 1 else exit_one
    mine = run_exits(model, params, batches[0], criterion)
    theirs = torch_exits(bert, heads, confidence, criterion, batches[0])
    agree = np.mean(mine.exit_layers == theirs[0]), np.mean(mine.predictions == theirs[1])
    print(f"first batch: exit layers agree {agree[0]:.0%}, predictions agree {agree[1]:.0%}; mean exit layer "
          f"{np.mean(mine.exit_layers):.2f} of {num_exits(model)}")  # fmt: skip


if __name__ == "__main__":
    main()
