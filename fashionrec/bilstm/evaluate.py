"""Chapter 1's evaluation: item embeddings, outfit scores, FITB and compatibility AUC (Han et al. 2017, Sec. 4).

Scores are computed from the model and the items' inputs; the metrics (``fashionrec.metrics``) see
scores and answers only, never item or set ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec.bilstm.data import ItemTable, OutfitTasks
from fashionrec.bilstm.model import SiameseNet
from fashionrec.metrics import auc, chance_fitb, fitb_accuracy, progress_ratio
from fashionrec.world import tasks

METRICS: tuple[str, ...] = ("fitb_random", "fitb_type", "auc")  # the columns of every results row
# Han et al. 2017, Table 1 (Maryland Polyvore, FITB with random negatives and compatibility AUC)
PAPER: dict[str, dict[str, float]] = {
    "fitb_random": {"bilstm_vse": 0.686, "bilstm": 0.667, "flstm_vse": 0.637, "blstm_vse": 0.612,
                    "siamese": 0.520, "vse": 0.292},
    "auc": {"bilstm_vse": 0.90, "bilstm": 0.89, "flstm_vse": 0.89, "blstm_vse": 0.88, "siamese": 0.85,
            "vse": 0.56}}
# the orderings the paper's Table 1 claims: key -> (claim, a, b), "a beats b"
CLAIMS: dict[str, tuple[str, str, str]] = {
    "vse": ("Bi-LSTM + VSE > Bi-LSTM (no VSE)", "bilstm_vse", "bilstm"),
    "bi_over_f": ("Bi-LSTM + VSE > F-LSTM + VSE", "bilstm_vse", "flstm_vse"),
    "bi_over_b": ("Bi-LSTM + VSE > B-LSTM + VSE", "bilstm_vse", "blstm_vse"),
    "f_over_b": ("F-LSTM + VSE > B-LSTM + VSE", "flstm_vse", "blstm_vse"),
    "lstm_over_siamese": ("Bi-LSTM (no VSE) > SiameseNet", "bilstm", "siamese"),
    "siamese_over_vse": ("SiameseNet > VSE only", "siamese", "vse")}


@torch.no_grad()
def embed_items(model: nn.Module, table: ItemTable, ids: Sequence[str], device: torch.device | str = "cpu",
                batch_size: int = 512) -> dict[str, Tensor]:
    """Embeddings of items: {"x": LSTM space, "f": VSE space} (Bi-LSTM) or {"e": ...} (Siamese), each (n, D)."""
    model.eval()
    out: dict[str, list[Tensor]] = {}
    rows = torch.tensor(table.rows(ids))
    for start in range(0, len(rows), batch_size):
        inputs = table.model_inputs(rows[start:start + batch_size]).to(device)
        parts = {"e": model.embed(inputs)} if isinstance(model, SiameseNet) else dict(zip("xf", model.encode(inputs)))
        for k, v in parts.items():
            out.setdefault(k, []).append(v)
    return {k: torch.cat(v) for k, v in out.items()}


@torch.no_grad()
def score_outfits(model: nn.Module, table: ItemTable, outfits: Sequence[tuple[str, ...]], gallery: Sequence[str],
                  device: torch.device | str = "cpu", batch_size: int = 1024,
                  embeddings: dict[str, Tensor] | None = None) -> np.ndarray:
    """(n,) compatibility scores, higher = better.

    Bi-LSTM variants: minus the loss of the outfit (Sec. 3.1, each direction's mean over its steps,
    summed over the directions the variant trained), with the softmax over ``gallery`` + the stop
    vector (the authors score against the whole test set). VSE only and Siamese: the mean cosine
    similarity of the outfit's item pairs (their FITB rule: the candidate closest to the rest).
    """
    model.eval()
    emb = embeddings if embeddings is not None else embed_items(model, table, gallery, device)
    index = {i: k for k, i in enumerate(gallery)}
    pairwise = isinstance(model, SiameseNet) or not (model.use_f or model.use_b)
    if pairwise:
        e_all = F.normalize(emb["e" if "e" in emb else "f"], dim=-1)  # (G, D)
    else:
        candidates = torch.cat([emb["x"], emb["x"].new_zeros(1, emb["x"].shape[1])])  # gallery + stop vector
    scores = []
    for start in range(0, len(outfits), batch_size):
        chunk = outfits[start:start + batch_size]
        lengths = torch.tensor([len(o) for o in chunk], device=device)
        width = int(lengths.max())
        rows = torch.tensor([[index[i] for i in o] + [index[o[-1]]] * (width - len(o)) for o in chunk], device=device)
        if pairwise:
            e = e_all[rows]  # (B, T, D)
            valid = torch.arange(width, device=device)[None] < lengths[:, None]
            pairs = valid[:, :, None] & valid[:, None, :] & ~torch.eye(width, dtype=torch.bool, device=device)
            sim = (e @ e.transpose(1, 2)) * pairs
            scores.append(sim.sum((1, 2)) / pairs.sum((1, 2)).clamp(min=1))
        else:
            e_f, e_b = model.outfit_nll(candidates[rows], rows, lengths, candidates)
            scores.append(-(e_f + e_b))
    return torch.cat(scores).float().cpu().numpy()


def fitb_scores(model: nn.Module, table: ItemTable, questions: Sequence, gallery: Sequence[str],
                device: torch.device | str = "cpu", embeddings: dict[str, Tensor] | None = None) -> np.ndarray:
    """(Q, C): the score of each completed outfit; FITB picks the argmax (= the lowest Bi-LSTM loss)."""
    outfits = [tasks.fill(q.context, c) for q in questions for c in q.candidates]
    return score_outfits(model, table, outfits, gallery, device, embeddings=embeddings).reshape(len(questions), -1)


def evaluate(model: nn.Module, data: OutfitTasks, device: torch.device | str = "cpu") -> dict[str, float]:
    """FITB accuracy (random and type-matched negatives) and compatibility AUC on the test tasks."""
    out = {}
    emb = embed_items(model, data.table, data.gallery, device)  # the test gallery, encoded once
    for neg, questions in data.fitb.items():
        scores = fitb_scores(model, data.table, questions, data.gallery, device, embeddings=emb)
        out[f"fitb_{neg}"] = fitb_accuracy(scores, np.array([q.answer for q in questions]))
    scores = score_outfits(model, data.table, [e.item_ids for e in data.compatibility], data.gallery, device,
                           embeddings=emb)
    out["auc"] = auc(scores, np.array([e.label for e in data.compatibility]))
    return out


def chance() -> dict[str, float]:
    """What a random scorer gets on each metric: FITB with 4 candidates 0.25, AUC 0.5."""
    return {"fitb_random": chance_fitb(4), "fitb_type": chance_fitb(4), "auc": 0.5}


def oracle(data: OutfitTasks) -> dict[str, float]:
    """FashionWorld's oracle on each metric (its likelihood (ratio) as the score); {} on real data."""
    if not data.oracle:
        return {}
    out = {f"fitb_{neg}": fitb_accuracy(data.oracle[f"fitb_{neg}"], np.array([q.answer for q in data.fitb[neg]]))
           for neg in ("random", "type")}
    out["auc"] = auc(data.oracle["compatibility"], np.array([e.label for e in data.compatibility]))
    return out


def headline_numbers(summary: pd.DataFrame, data: OutfitTasks, methods: Sequence[str], n_seeds: int,
                     target: float = 0.8) -> dict[str, float | int | str]:
    """The chapter's glue keys for its results: sizes, each method's mean per metric (``ch1_<method>_<metric>``,
    the full model's also as ``ch1_<metric>``) and, on FashionWorld, the oracle, the full model's share of
    the way from chance to it (``ch1_<metric>_ratio``) and whether that reaches ``target``.

    ``summary``: ``claims.summarize(results, METRICS)`` (mean over seeds, one row per method).
    """
    out: dict[str, float | int | str] = {"ch1_n_seeds": n_seeds, "ch1_n_train_outfits": len(data.train),
                                         "ch1_n_fitb": len(data.fitb["type"]),
                                         "ch1_n_compatibility": len(data.compatibility)}
    full = summary.loc["bilstm_vse"]
    for c in METRICS:
        out[f"ch1_{c}"] = float(full[(c, "mean")])
        out |= {f"ch1_{m}_{c}": float(summary.loc[m, (c, "mean")]) for m in methods}
    base = chance()
    for c, value in oracle(data).items():
        ratio = progress_ratio(float(full[(c, "mean")]), base[c], value)
        out |= {f"ch1_oracle_{c}": float(value), f"ch1_{c}_ratio": ratio,
                f"ch1_{c}_target": "met" if ratio >= target else "missed"}
    return out
