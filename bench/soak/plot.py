"""The soak's PNG, from the result JSON: per roll its duration, longest VIP gap and failed pulls, each bar
coloured by the fault injected during that roll; a stopped roll is hatched and marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLORS = {"restart-during-move": "tab:blue", "leader-kill": "tab:red", "cut-heal": "tab:orange"}
NOT_FIRED = "tab:gray"


def _color(roll: dict[str, Any]) -> str:
    fault = roll["fault"]
    return COLORS.get(fault["kind"], NOT_FIRED) if fault.get("fired_at_s") is not None else NOT_FIRED


def soak_plot(document: dict[str, Any], path: Path) -> Path:
    rolls = document["rolls"]
    xs = [r["roll"] for r in rolls]
    colors = [_color(r) for r in rolls]
    hatches = ["" if r["ok"] else "//" for r in rolls]
    series = [("roll duration (s)", [r["seconds"] for r in rolls]),
              ("longest VIP gap (s)", [r["longest_gap_s"] for r in rolls]),
              ("failed pulls (after 1 retry)", [r.get("failed_pulls", 0) for r in rolls])]
    figure, axes = plt.subplots(len(series), 1, figsize=(max(7, 0.45 * len(rolls) + 3), 7.5), sharex=True)
    for ax, (label, values) in zip(axes, series, strict=True):
        bars = ax.bar(xs, values, color=colors, edgecolor="black", linewidth=0.5)
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0, top=max([1, *values]) * 1.15)
    axes[2].yaxis.set_major_locator(MaxNLocator(integer=True))
    retried = [r.get("retried_pulls", 0) for r in rolls]
    if any(retried):
        axes[2].plot(xs, retried, "k.", label="pulls that needed their retry")
        axes[2].set_ylim(bottom=0, top=max([1, *retried, *series[2][1]]) * 1.15)
        axes[2].legend(loc="upper right", fontsize=8)
    for roll, height in zip(rolls, series[0][1], strict=True):
        member = roll["fault"].get("member")
        axes[0].annotate(("STOPPED " if not roll["ok"] else "") + (member or ""), (roll["roll"], height),
                         ha="center", va="bottom", fontsize=7)
    axes[-1].set_xlabel("roll")
    axes[-1].set_xticks(xs)
    axes[0].set_ylim(bottom=0, top=max([1, *series[0][1]]) * 1.25)  # room for the member labels
    legend = [Patch(color=color, label=kind) for kind, color in COLORS.items()]
    legend += [Patch(color=NOT_FIRED, label="fault not fired"), Patch(facecolor="white", hatch="//",
                                                                       edgecolor="black", label="roll stopped")]
    s = document["summary"]
    figure.suptitle(f"Soak: {s['rolls_ok']}/{s['rolls']} rolls completed, {s['failed_pulls']} failed pulls of "
                    f"{s['pulls']}, longest VIP gap {s['longest_gap_s']} s\n(bar colour: the fault injected; "
                    "label: its member)", fontsize=10)
    figure.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, 0.94), fontsize=8, ncol=5,
                  frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.91))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
