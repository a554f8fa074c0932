"""The PyTorch side of the shakespeare_char comparison: nanoGPT's CPU "baby GPT" recipe, written out small,
so both stacks can be timed on the same machine under the same load.

python benchmarks/shakespeare_char_torch.py --text=../shared/data/tinyshakespeare/input.txt

Same settings as configs/pretrain/shakespeare_char.py (and nanoGPT's README CPU command): character vocabulary,
first 90% train / last 10% val, 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iterations, no
dropout, GPT-2 blocks with biases and tied embeddings, AdamW 1e-3 (beta2 0.99, weight decay 0.1 on 2-D
tensors), 100 warmup iterations then cosine to 1e-4, clipping at 1.0; the loss on 20 batches of each split
every 250 iterations. Prints the losses and the wall time (eager mode, as nanoGPT's --compile=False).
"""

import argparse
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LAYERS, HEADS, WIDTH, CONTEXT, BATCH, ITERS = 4, 4, 128, 64, 12, 2000
PEAK_LR, MIN_LR, WARMUP, EVAL_EVERY, EVAL_BATCHES = 1e-3, 1e-4, 100, 250, 20


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv, self.out = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(approximate="tanh"), nn.Linear(4 * WIDTH, WIDTH))

    def forward(self, x):
        batch, length, _ = x.shape
        heads = self.qkv(self.norm1(x)).split(WIDTH, dim=2)
        q, k, v = (h.view(batch, length, HEADS, WIDTH // HEADS).transpose(1, 2) for h in heads)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(attended.transpose(1, 2).reshape(batch, length, WIDTH))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab_size, WIDTH), nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(WIDTH)
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids, targets):
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.norm(x) @ self.tokens.weight.T  # tied embeddings
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def learning_rate(step: int) -> float:
    if step < WARMUP:
        return PEAK_LR * (step + 1) / (WARMUP + 1)
    ratio = (step - WARMUP) / (ITERS - WARMUP)
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * ratio)) * (PEAK_LR - MIN_LR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", default="../shared/data/tinyshakespeare/input.txt")
    args = parser.parse_args()
    torch.manual_seed(1337)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    lookup = {char: index for index, char in enumerate(chars)}
    ids = np.array([lookup[char] for char in text], np.int64)
    cut = int(0.9 * len(ids))
    splits = {"train": torch.from_numpy(ids[:cut]), "val": torch.from_numpy(ids[cut:])}

    def batch(split):
        data = splits[split]
        starts = torch.randint(len(data) - CONTEXT, (BATCH,))
        x = torch.stack([data[i : i + CONTEXT] for i in starts])
        y = torch.stack([data[i + 1 : i + 1 + CONTEXT] for i in starts])
        return x, y

    model = GPT(len(chars))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=PEAK_LR, betas=(0.9, 0.99))
    start = time.perf_counter()
    for step in range(ITERS + 1):
        if step % EVAL_EVERY == 0:
            model.eval()
            with torch.no_grad():
                losses = {s: np.mean([model(*batch(s)).item() for _ in range(EVAL_BATCHES)]) for s in splits}
            model.train()
            print(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}", flush=True)
        if step == ITERS:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step)
        loss = model(*batch("train"))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    print(f"wall {time.perf_counter() - start:.1f} s for {ITERS} iterations")


if __name__ == "__main__":
    main()
