"""Chapter 1's figures: the model's diagram, training outfits, FITB questions, outfits ranked by
compatibility score, generated outfits.

Each draws item images from FashionWorld, or on real data from the items' image files; without either
(cached features only) it returns ``None`` and prints a one-line note, so a notebook calls them
without a guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from fashionrec import plots
from fashionrec.bilstm.config import Config
from fashionrec.bilstm.data import OutfitTasks
from fashionrec.bilstm.evaluate import fitb_scores, score_outfits
from fashionrec.bilstm.model import BiLSTMVSE, build_model


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


def model_diagram(cfg: Config, in_dim: int, vocab_size: int) -> Figure:
    """The Bi-LSTM + VSE of ``cfg`` as boxes and arrows (Sec. 3), each arrow labelled with its tensor's
    shape, read from the model that ``build_model`` makes (B outfits of T items, N items in the batch)."""
    model = build_model(replace(cfg, pretrained=False), "bilstm_vse", in_dim, vocab_size)
    assert isinstance(model, BiLSTMVSE)
    d, t, s = model.to_rnn.out_features, cfg.max_items, cfg.image_size
    trunk = [m for m in model.encoder.trunk if isinstance(m, nn.Linear)]
    if model.encoder.backbone is None:
        cnn = f"{cfg.backbone} (frozen)\n{cfg.feature_level} map,\nmean + max pool"
        cnn_out = f"(N, {in_dim})"
    else:
        cnn = f"{cfg.backbone}\n(fine-tuned)"
        cnn_out = f"(N, {model.encoder.backbone.dim})"
    top = (f"FC + ReLU\n{trunk[0].in_features} -> {trunk[0].out_features}" if trunk
           else "no extra layer\n(the CNN is trained)")
    lstm = model.lstm_f
    boxes = {
        "images": (0, 2, f"outfit images\n(B, T <= {t}, 3, {s}, {s})"),
        "cnn": (4.5, 2, cnn),
        "trunk": (9, 2, top),
        "x": (13.5, 3.5, f"x_t = linear\n{model.to_rnn.in_features} -> {d}"),
        "f": (13.5, 0.5, f"f = W_I x\n{model.to_vse.in_features} -> {d}"),
        "fwd": (18, 4.6, f"forward LSTM\n{lstm.input_size} -> {lstm.hidden_size}, FC -> {model.out_f.out_features}"),
        "bwd": (18, 2.4, f"backward LSTM (reversed)\n{model.lstm_b.input_size} -> {model.lstm_b.hidden_size}, "
                         f"FC -> {model.out_b.out_features}"),
        "softmax": (22.5, 3.5, "softmax of h_t . x\nover X + stop\n-> E_f, E_b"),
        "tokens": (4.5, -1.0, f"shop text\n(N, <= {cfg.max_words} words)"),
        "words": (9, -1.0, f"v = mean of W_T e_w\nW_T: ({model.words.num_embeddings}, "
                           f"{model.words.embedding_dim})"),
        "vse": (18, -0.25, f"VSE hinge, m = {cfg.margin}\ncosine d(f, v) -> E_e"),
        "loss": (22.5, 0.5, f"E_f + E_b\n+ {cfg.vse_weight:g} E_e"),
    }
    arrows = [("images", "cnn", f"(N, 3, {s}, {s})"), ("cnn", "trunk", cnn_out),
              ("trunk", "x", f"(N, {model.encoder.dim})"), ("trunk", "f", f"(N, {model.encoder.dim})"),
              ("x", "fwd", f"(B, {t}, {d})"), ("x", "bwd", f"(B, {t}, {d})"),
              ("fwd", "softmax", f"h_t (B, {t}, {d})"), ("bwd", "softmax", f"h_t (B, {t}, {d})"),
              ("f", "vse", f"(N, {d})"), ("tokens", "words", f"(N, {cfg.max_words})"),
              ("words", "vse", f"(N, {d})"), ("softmax", "loss", ""), ("vse", "loss", "")]
    return plots.block_diagram(boxes, arrows, box_size=(3.0, 1.05),
                               title=f"Bi-LSTM + VSE ({cfg.profile} profile): arrows carry the tensors' shapes")


def ranked_outfits(model: nn.Module, data: OutfitTasks, image_size: int, device: torch.device | str = "cpu",
                   n: int = 8) -> Figure | None:
    """Test outfits of the compatibility task ranked by the model's score, best to worst (Han et al.,
    Fig. 12): ``n`` rows at evenly spaced ranks, each labelled with its rank, score and whether it is a
    real outfit or random items. ``None`` without images."""
    if data.world is None and not data.table.image_paths:
        return _no_images("ranked outfits")
    examples = data.compatibility
    scores = score_outfits(model, data.table, [e.item_ids for e in examples], data.gallery, device)
    order = np.argsort(-scores, kind="stable")
    picked = order[np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))]
    rank = {int(k): r + 1 for r, k in enumerate(order)}
    rows = [item_images(data, examples[k].item_ids, image_size) for k in picked]
    labels = [f"#{rank[int(k)]} of {len(order)}\nscore {scores[k]:.2f}\n"
              f"{'real outfit' if examples[k].label else 'random items'}" for k in picked]
    return plots.outfit_rows(rows, labels, title="Test outfits ranked by the model's compatibility score "
                             "(minus its loss), best (top) to worst (bottom)")
