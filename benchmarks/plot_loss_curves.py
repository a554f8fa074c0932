"""Loss curves of a run as an SVG, from its metrics.jsonl (no plotting library needed).

python benchmarks/plot_loss_curves.py --workdir=/tmp/shakespeare_char --out=docs/figures/shakespeare_char_loss.svg

Draws the logged training loss ("train"), the held-out loss ("validation") and, when the run estimated it, the
training split's loss ("train_eval") against the step.
"""

import argparse
import json
import os

WIDTH, HEIGHT, MARGIN = 640, 400, 56
SERIES = (
    ("train", "loss", "#9ab", "train (logged steps)"),
    ("train_eval", "loss", "#1f77b4", "train (eval)"),
    ("validation", "loss", "#d62728", "validation"),
)


def read_curves(workdir: str) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "loss" in record:
                curves.setdefault(record["split"], []).append((record["step"], record["loss"]))
    return curves


def svg(curves: dict, title: str) -> str:
    points = [p for split, _, _, _ in SERIES for p in curves.get(split, [])]
    max_step = max(step for step, _ in points)
    low, high = min(loss for _, loss in points), max(loss for _, loss in points)
    high = low + 1e-6 if high == low else high
    x = lambda step: MARGIN + (WIDTH - 2 * MARGIN) * step / max_step  # noqa: E731
    y = lambda loss: HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (loss - low) / (high - low)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">step</text>',
        f'<text x="14" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 14 {HEIGHT / 2})">loss</text>',
    ]
    for i in range(5):
        loss = low + (high - low) * i / 4
        step = round(max_step * i / 4)
        parts.append(f'<text x="{MARGIN - 6}" y="{y(loss) + 4:.1f}" text-anchor="end">{loss:.2f}</text>')
        parts.append(f'<text x="{x(step):.1f}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle">{step}</text>')
    for index, (split, _, colour, label) in enumerate(s for s in SERIES if s[0] in curves):
        path = " ".join(f"{x(step):.1f},{y(loss):.1f}" for step, loss in sorted(curves[split]))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        legend_y = MARGIN + 16 * index
        parts.append(
            f'<line x1="{WIDTH - 190}" y1="{legend_y}" x2="{WIDTH - 170}" y2="{legend_y}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
        parts.append(f'<text x="{WIDTH - 164}" y="{legend_y + 4}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    curves = read_curves(args.workdir)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(svg(curves, args.title or os.path.basename(os.path.normpath(args.workdir))))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
