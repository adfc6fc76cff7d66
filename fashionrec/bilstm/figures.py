"""Chapter 1's figures: training outfits, FITB questions, generated outfits.

Each draws item images from FashionWorld, or on real data from the items' image files; without either
(cached features only) it returns ``None`` and prints a one-line note, so a notebook calls them
without a guard.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from fashionrec import plots
from fashionrec.bilstm.data import OutfitTasks
from fashionrec.bilstm.evaluate import fitb_scores


def item_images(data: OutfitTasks, item_ids: Sequence[str], image_size: int) -> np.ndarray | None:
    """(n, size, size, 3) uint8 images of items: FashionWorld renders them, real data reads their
    files (``data.table.image_paths``); ``None`` when neither is there."""
    if data.world is not None:
        return data.world.images(item_ids, image_size)
    if not data.table.image_paths:
        return None
    from fashionrec.datasets.files import load_image

    paths = data.table.image_paths
    return np.stack([load_image(paths[r], image_size) for r in data.table.rows(item_ids)])


def _no_images(what: str) -> None:
    print(f"(no figure of {what}: the items' images are neither FashionWorld's nor files)")


def training_outfits(data: OutfitTasks, image_size: int, n: int = 5) -> tuple[Figure | None, pd.DataFrame]:
    """The first ``n`` training outfits, one per row, and the first one's categories and shop texts.

    Real data: the figure from the image files (if the table has them) and the data's note as a table,
    one line a row.
    """
    shown = data.train[:n]
    images = [item_images(data, o, image_size) for o in shown]
    fig = None
    if images and images[0] is not None:
        fig = plots.outfit_rows(images, [f"outfit {k + 1}" for k in range(len(shown))],
                                title="Training outfits, one per row, in category order")
    if data.world is None:
        return fig, pd.DataFrame({"note": data.note.splitlines() or [""]})
    items = data.world.items
    example = pd.DataFrame([{"item": k + 1, "category": items[i].category, "shop text": items[i].text}
                            for k, i in enumerate(shown[0])])
    return fig, example


def fitb_questions(model: nn.Module, data: OutfitTasks, image_size: int, device: torch.device | str = "cpu",
                   n: int = 2) -> Figure | None:
    """``n`` type-matched FITB questions the model got right and ``n`` it got wrong, one per row: the
    outfit with its blank (grey), then the candidates captioned with the completed outfit's score
    (green frame: the answer; red: the model's wrong pick). ``None`` without images."""
    if data.world is None and not data.table.image_paths:
        return _no_images("FITB questions")
    typed = data.fitb["type"]
    if not typed:
        print("(no type-matched FITB question to show)")
        return None
    all_scores = fitb_scores(model, data.table, typed, data.gallery, device)
    right = [k for k, q in enumerate(typed) if all_scores[k].argmax() == q.answer]
    wrong = [k for k, q in enumerate(typed) if all_scores[k].argmax() != q.answer]
    picked = right[:n] + wrong[:n]
    questions, scores = [typed[k] for k in picked], all_scores[picked]
    blank = np.full((image_size, image_size, 3), 200, np.uint8)
    width = max(len(q.context) for q in questions)
    images, captions, frames = [], [], []
    for q, sc in zip(questions, scores):
        context = [blank if i is None else item_images(data, [i], image_size)[0] for i in q.context]
        context += [np.full_like(blank, 255)] * (width - len(context))
        images += context + list(item_images(data, q.candidates, image_size))
        captions += ["blank" if i is None else "" for i in q.context]
        captions += [""] * (width - len(q.context)) + [f"{s:.2f}" for s in sc]
        pick = int(sc.argmax())
        frames += [None] * width + ["tab:green" if c == q.answer else "tab:red" if c == pick else None
                                    for c in range(len(q.candidates))]
    return plots.image_grid(np.stack(images), captions, ncols=width + 4, frame=frames,
                            title=f"Type-matched FITB: {n} right, {n} wrong (outfit left, candidates right)")


def generated_outfits(data: OutfitTasks, demos: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]],
                      image_size: int) -> Figure | None:
    """``demo_outfits``' outfits, one per row: the query image(s), a grey bar, the generated outfit.
    ``None`` without images."""
    if data.world is None and not data.table.image_paths:
        return _no_images("generated outfits")
    bar = np.full((image_size, image_size, 3), 255, np.uint8)
    bar[:, : image_size // 4] = 160
    rows = []
    for _, queries, outfit in demos:
        images = list(item_images(data, queries, image_size)) if queries else []
        rows.append(np.stack(images + [bar] + list(item_images(data, outfit, image_size))))
    return plots.outfit_rows(rows, [label for label, _, _ in demos],
                             title="Generated outfits: query | generated outfit")
