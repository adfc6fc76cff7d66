"""Chapter 1's FashionWorld figures: training outfits, FITB questions, generated outfits.

Each draws item images from FashionWorld and returns ``None`` (or a note) on real data, whose images
the book does not ship, so a notebook calls them without a guard.
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


def training_outfits(data: OutfitTasks, image_size: int, n: int = 5) -> tuple[Figure | None, pd.DataFrame]:
    """The first ``n`` training outfits, one per row, and the first one's categories and shop texts.

    Real data: no figure, and a one-row table with the data's note.
    """
    if data.world is None:
        return None, pd.DataFrame({"note": [data.note]})
    items, shown = data.world.items, data.train[:n]
    fig = plots.outfit_rows([data.world.images(o, image_size) for o in shown],
                            [f"outfit {k + 1}" for k in range(len(shown))],
                            title="Training outfits, one per row, in category order")
    example = pd.DataFrame([{"item": k + 1, "category": items[i].category, "shop text": items[i].text}
                            for k, i in enumerate(shown[0])])
    return fig, example


def fitb_questions(model: nn.Module, data: OutfitTasks, image_size: int, device: torch.device | str = "cpu",
                   n: int = 2) -> Figure | None:
    """``n`` type-matched FITB questions the model got right and ``n`` it got wrong, one per row: the
    outfit with its blank (grey), then the candidates captioned with the completed outfit's score
    (green frame: the answer; red: the model's wrong pick). ``None`` on real data."""
    if data.world is None:
        return None
    typed = data.fitb["type"]
    all_scores = fitb_scores(model, data.table, typed, data.gallery, device)
    right = [k for k, q in enumerate(typed) if all_scores[k].argmax() == q.answer]
    wrong = [k for k, q in enumerate(typed) if all_scores[k].argmax() != q.answer]
    picked = right[:n] + wrong[:n]
    questions, scores = [typed[k] for k in picked], all_scores[picked]
    blank = np.full((image_size, image_size, 3), 200, np.uint8)
    width = max(len(q.context) for q in questions)
    images, captions, frames = [], [], []
    for q, sc in zip(questions, scores):
        context = [blank if i is None else data.world.images([i], image_size)[0] for i in q.context]
        context += [np.full_like(blank, 255)] * (width - len(context))
        images += context + list(data.world.images(q.candidates, image_size))
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
    ``None`` on real data."""
    if data.world is None:
        return None
    bar = np.full((image_size, image_size, 3), 255, np.uint8)
    bar[:, : image_size // 4] = 160
    rows = []
    for _, queries, outfit in demos:
        images = list(data.world.images(queries, image_size)) if queries else []
        rows.append(np.stack(images + [bar] + list(data.world.images(outfit, image_size))))
    return plots.outfit_rows(rows, [label for label, _, _ in demos],
                             title="Generated outfits: query | generated outfit")
