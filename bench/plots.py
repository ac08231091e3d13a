"""PNG plots from the result JSON (matplotlib, headless): time vs N, and the spread histogram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.ticker import MaxNLocator  # noqa: E402

LABELS = {"A": "baseline A (seed: serial, shuf + move)", "Ap": "baseline A∥ (seed, 10 in flight as Terraform)",
          "B": "baseline B (floor: parallel --target)", "ours": "ours (pulumi up, baked image)"}
COLORS = {"A": "tab:red", "Ap": "tab:orange", "B": "tab:gray", "ours": "tab:blue"}
SPREAD_SERIES = ("A", "Ap", "ours")


def time_vs_n(document: dict[str, Any], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    sizes = document["sizes"]
    for approach in LABELS:
        points = [(n, document["summary"]["by_n"][str(n)]["wall_s"].get(approach)) for n in sizes]
        points = [(n, s) for n, s in points if s]
        if not points:
            continue
        xs = [n for n, _ in points]
        medians = [s["median"] for _, s in points]
        errors = [[s["median"] - s["min"] for _, s in points], [s["max"] - s["median"] for _, s in points]]
        axes.errorbar(xs, medians, yerr=errors, marker="o", capsize=4, label=LABELS[approach],
                      color=COLORS[approach])
    axes.set_xlabel("containers (N)")
    axes.set_ylabel("wall time, s (median, min-max)")
    axes.set_title(f"Deploy time vs N ({len(document['members'])}-member lab, 2 shared cores)")
    axes.set_xticks(sizes)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def spread_histogram(document: dict[str, Any], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    by_n = document["summary"]["by_n"]
    series = {a: [s for entry in by_n.values() for s in entry["spread"].get(a, [])] for a in SPREAD_SERIES}
    top = max([1, *(s for values in series.values() for s in values)])
    bins = [x - 0.5 for x in range(top + 2)]
    axes.hist([series[a] for a in SPREAD_SERIES], bins=bins, label=[LABELS[a] for a in SPREAD_SERIES],
              color=[COLORS[a] for a in SPREAD_SERIES])
    axes.axvline(1.5, linestyle="--", color="black", linewidth=1, label="target: max-min <= 1")
    axes.set_xticks(range(top + 1))
    axes.set_xlabel("final spread (max - min containers per member)")
    axes.set_ylabel("runs")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Final spread, all sizes and runs")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
