"""Report charts: matplotlib (Agg, no pyplot global state) rendered to deterministic base64 PNG.

Byte-stability: PNG metadata (Software, Creation Time) is dropped, the font is fixed, and every input
is sorted by the caller, so the same numbers always give the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_RC: Any = {  # matplotlib types rc keys as Literals; these are valid rc names
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "dmvq-export",
    "path.simplify": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PALETTE = ("#1b6ca8", "#c0392b", "#e67e22", "#7f8c8d", "#8e44ad", "#27ae60")


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None, "Creation Time": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    ylabel: str = "count",
    horizontal: bool = False,
) -> str:
    """A stacked bar chart; `series` is name -> one value per label (inserted in display order)."""
    with matplotlib.rc_context(_RC):
        height = max(3.0, 0.28 * len(labels) + 1.2) if horizontal else 3.6
        fig = Figure(figsize=(8.5, height))
        ax = fig.add_subplot()
        base = [0.0] * len(labels)
        pos = list(range(len(labels)))
        for i, (name, values) in enumerate(series.items()):
            color = PALETTE[i % len(PALETTE)]
            if horizontal:
                ax.barh(pos, values, left=base, label=name, color=color)
            else:
                ax.bar(pos, values, bottom=base, label=name, color=color)
            base = [b + v for b, v in zip(base, values, strict=True)]
        if horizontal:
            ax.set_yticks(pos, labels)
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
        else:
            ax.set_xticks(pos, labels, rotation=60 if len(labels) > 12 else 0)
            ax.set_ylabel(ylabel)
        ax.set_title(title)
        _legend(ax, labels)
        fig.tight_layout()
        return _png(fig)


def grouped_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], xlabel: str
) -> str:
    """Horizontal bars side by side (for measures that must not be stacked, e.g. requests vs returns)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8.5, max(3.0, 0.22 * len(labels) * max(1, len(series)) + 1.2)))
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            pos = [j + i * width for j in range(len(labels))]
            ax.barh(pos, values, height=width, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_yticks([j + 0.4 - width / 2 for j in range(len(labels))], labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        _legend(ax, labels)
        fig.tight_layout()
        return _png(fig)


def _legend(ax: Axes, labels: Sequence[str]) -> None:
    # Outside the plot area, so it never hides a bar.
    if labels:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def trend_lines(title: str, months: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """One line per series over the months (oldest first)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8.5, 3.4))
        ax = fig.add_subplot()
        pos = list(range(len(months)))
        for i, (name, values) in enumerate(series.items()):
            ax.plot(pos, values, marker="o", label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_xticks(pos, months)
        ax.set_ylabel("count")
        ax.set_title(title)
        _legend(ax, months)
        fig.tight_layout()
        return _png(fig)
