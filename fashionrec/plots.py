"""Figures the book shows: image grids with captions, outfit rows, boxes on scenes, curves.

Each function takes ``ax=None`` (or makes its own figure) and returns the ``Figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    import pandas as pd

Box = tuple[float, float, float, float]


def image_grid(images: np.ndarray | Sequence[np.ndarray], captions: Sequence[str] | None = None,
               ncols: int = 8, title: str | None = None, cell: float = 1.4,
               frame: Sequence[str | None] | None = None) -> Figure:
    """A grid of images (N, H, W, 3) with optional captions and coloured frames (e.g. the right answer)."""
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(images[k])
        if captions is not None:
            ax.set_title(captions[k], fontsize=7)
        if frame is not None and frame[k]:
            h, w = np.asarray(images[k]).shape[:2]
            ax.add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, edgecolor=frame[k], linewidth=3))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def outfit_rows(rows: Sequence[np.ndarray], labels: Sequence[str] | None = None, title: str | None = None,
                cell: float = 1.2) -> Figure:
    """One outfit per row (each an (n_items, H, W, 3) array), with a label on the left."""
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(cell * ncols + 1.5, cell * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(row):
                ax.imshow(row[c])
        if labels is not None:
            axes[r, 0].set_ylabel(labels[r], rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def draw_boxes(image: np.ndarray, boxes: Sequence[Box], labels: Sequence[str] | None = None,
               ax: plt.Axes | None = None, title: str | None = None) -> Figure:
    """An image with normalised (x0, y0, x1, y1) boxes drawn and labelled."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(3, 3))
    else:
        fig = ax.figure
    h, w = image.shape[:2]
    ax.imshow(image)
    colors = plt.cm.tab10.colors
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        ax.add_patch(Rectangle((x0 * w, y0 * h), (x1 - x0) * w, (y1 - y0) * h, fill=False,
                               edgecolor=colors[k % 10], linewidth=1.5))
        if labels is not None:
            ax.text(x0 * w, y0 * h, labels[k], color=colors[k % 10], fontsize=6, va="bottom")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=8)
    return fig


def curves(x: np.ndarray, ys: dict[str, np.ndarray], xlabel: str, ylabel: str, title: str | None = None,
           ax: plt.Axes | None = None) -> Figure:
    """Several named curves over the same x (e.g. top-k accuracy for k = 1..50, NDCG@m)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    else:
        fig = ax.figure
    for name, y in ys.items():
        ax.plot(x, y, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, "pd.DataFrame"], title: str | None = None,
                    valid_label: str = "validation metric") -> Figure:
    """The book's one training-curve figure: train loss (left) and validation metric (right) per epoch.

    ``histories``: label -> ``train.History.to_frame()`` (columns ``epoch``, ``train_loss``,
    ``valid_metric``). Runs without a validation metric leave the right panel empty.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for label, frame in histories.items():
        left.plot(frame["epoch"], frame["train_loss"], marker=".", label=label)
        if frame["valid_metric"].notna().any():
            right.plot(frame["epoch"], frame["valid_metric"], marker=".", label=label)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    right.set_xlabel("epoch")
    right.set_ylabel(valid_label)
    for ax in (left, right):
        if ax.lines:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def block_diagram(boxes: dict[str, tuple[float, float, str]], arrows: Sequence[tuple[str, str, str]],
                  title: str | None = None, box_size: tuple[float, float] = (2.6, 1.0),
                  scale: float = 0.55) -> Figure:
    """A model drawn as boxes joined by arrows: ``boxes`` name -> (x, y, text), ``arrows`` (from, to,
    label), the label being the tensor that flows (e.g. its shape). Positions are in box units (x to
    the right, y up); ``scale`` inches per unit."""
    from matplotlib.patches import FancyBboxPatch

    for a, b, _ in arrows:
        missing = [n for n in (a, b) if n not in boxes]
        if missing:
            raise ValueError(f"arrow {a!r} -> {b!r}: no box named {missing[0]!r} (boxes: {', '.join(boxes)})")
    w, h = box_size
    xs = [x for x, _, _ in boxes.values()]
    ys = [y for _, y, _ in boxes.values()]
    x0, x1, y0, y1 = min(xs) - w / 2 - 0.3, max(xs) + w / 2 + 0.3, min(ys) - h / 2 - 0.3, max(ys) + h / 2 + 0.3
    fig, ax = plt.subplots(figsize=((x1 - x0) * scale, (y1 - y0) * scale + (0.5 if title else 0)))
    patches = {}
    for name, (x, y, text) in boxes.items():
        patches[name] = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                       facecolor="#eef3fa", edgecolor="#4a6a94", linewidth=1, label=name)
        ax.add_patch(patches[name])
        ax.text(x, y, text, ha="center", va="center", fontsize=7)
    for a, b, label in arrows:
        (xa, ya, _), (xb, yb, _) = boxes[a], boxes[b]
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9, patchA=patches[a],
                                    patchB=patches[b], shrinkA=1, shrinkB=1))
        if label:
            ax.text((xa + xb) / 2, (ya + yb) / 2, label, ha="center", va="center", fontsize=6.5,
                    color="#8a2d0a", bbox=dict(facecolor="white", edgecolor="none", pad=0.6))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
