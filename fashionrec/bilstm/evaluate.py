"""Chapter 1's evaluation: item embeddings, outfit scores, FITB and compatibility AUC (Han et al. 2017, Sec. 4).

Scores are computed from the model and the items' inputs; the metrics (``fashionrec.metrics``) see
scores and answers only, never item or set ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec.bilstm.config import Config
from fashionrec.bilstm.data import ItemTable, OutfitTasks, with_attributes
from fashionrec.bilstm.model import SetRNN, SiameseNet
from fashionrec.bilstm.train import train_method
from fashionrec.metrics import auc, chance_fitb, fitb_accuracy, progress_ratio
from fashionrec.world import tasks

METRICS: tuple[str, ...] = ("fitb_random", "fitb_type", "auc")  # the columns of every results row
# Han et al. 2017, Table 1 (Maryland Polyvore, FITB with random negatives and compatibility AUC)
PAPER: dict[str, dict[str, float]] = {
    "fitb_random": {"bilstm_vse": 0.686, "bilstm": 0.667, "flstm_vse": 0.637, "blstm_vse": 0.612,
                    "bigru_vse": 0.671, "birnn_vse": 0.637, "siamese": 0.520, "setrnn": 0.296, "vse": 0.292},
    "auc": {"bilstm_vse": 0.90, "bilstm": 0.89, "flstm_vse": 0.89, "blstm_vse": 0.88, "bigru_vse": 0.89,
            "birnn_vse": 0.85, "siamese": 0.85, "setrnn": 0.53, "vse": 0.56}}
# the orderings the paper's Table 1 claims: key -> (claim, a, b), "a beats b"
CLAIMS: dict[str, tuple[str, str, str]] = {
    "vse": ("Bi-LSTM + VSE > Bi-LSTM (no VSE)", "bilstm_vse", "bilstm"),
    "bi_over_f": ("Bi-LSTM + VSE > F-LSTM + VSE", "bilstm_vse", "flstm_vse"),
    "bi_over_b": ("Bi-LSTM + VSE > B-LSTM + VSE", "bilstm_vse", "blstm_vse"),
    "f_over_b": ("F-LSTM + VSE > B-LSTM + VSE", "flstm_vse", "blstm_vse"),
    "lstm_over_siamese": ("Bi-LSTM (no VSE) > SiameseNet", "bilstm", "siamese"),
    "siamese_over_vse": ("SiameseNet > VSE only", "siamese", "vse"),
    "lstm_over_gru": ("Bi-LSTM + VSE > Bi-GRU + VSE", "bilstm_vse", "bigru_vse"),
    "gru_over_rnn": ("Bi-GRU + VSE > Bi-RNN + VSE", "bigru_vse", "birnn_vse"),
    "bi_over_setrnn": ("Bi-LSTM + VSE > SetRNN", "bilstm_vse", "setrnn")}


@torch.no_grad()
def embed_items(model: nn.Module, table: ItemTable, ids: Sequence[str], device: torch.device | str = "cpu",
                batch_size: int = 512) -> dict[str, Tensor]:
    """Embeddings of items: {"x": LSTM space, "f": VSE space} (Bi-LSTM) or {"e": ...} (Siamese), each (n, D)."""
    model.eval()
    out: dict[str, list[Tensor]] = {}
    rows = torch.tensor(table.rows(ids))
    for start in range(0, len(rows), batch_size):
        inputs = table.model_inputs(rows[start:start + batch_size]).to(device)
        parts = ({"e": model.embed(inputs)} if isinstance(model, SiameseNet) else
                 {"x": model.embed(inputs)} if isinstance(model, SetRNN) else dict(zip("xf", model.encode(inputs))))
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
    SetRNN: its compatibility logit.
    """
    model.eval()
    emb = embeddings if embeddings is not None else embed_items(model, table, gallery, device)
    index = {i: k for k, i in enumerate(gallery)}
    setrnn = isinstance(model, SetRNN)
    pairwise = not setrnn and (isinstance(model, SiameseNet) or not (model.use_f or model.use_b))
    if pairwise:
        e_all = F.normalize(emb["e" if "e" in emb else "f"], dim=-1)  # (G, D)
    elif not setrnn:
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
        elif setrnn:
            scores.append(model.score(emb["x"][rows], lengths))
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
        if not questions:  # real data too small to build any
            out[f"fitb_{neg}"] = float("nan")
            continue
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


ENCODER = "encoder of the full model"  # the attribute diagnostic's index


def attribute_diagnostic(cfg: Config, data: OutfitTasks, summary: pd.DataFrame, device: torch.device | str = "cpu",
                         run_dir: Path | None = None) -> pd.DataFrame:
    """Where the type-matched gap comes from: the full model on its images (``summary``'s mean row), and on
    FashionWorld the same model trained (seed ``cfg.seeds[0]``) on the items' true attributes, once on what
    the images show and once with the formality added, then the oracle. Real data: the first row only."""
    full = summary.loc["bilstm_vse"]
    encoder = ("frozen EfficientNet-Lite0 + layer" if (cfg.backbone, cfg.finetune) == ("efficientnet_lite0", False)
               else f"{cfg.backbone}, {'trained end to end' if cfg.finetune else 'frozen'}")
    rows = [{ENCODER: f"images ({encoder})", **{c: full[(c, "mean")] for c in METRICS}}]
    if data.world is None:
        print("(real data: the attribute diagnostic needs FashionWorld's true attributes and oracle; skipped)")
    else:
        s = cfg.seeds[0]
        for name, formality in (("drawn", False), ("attributes", True)):
            attrs = with_attributes(data, formality=formality)
            model, _ = train_method(cfg, "bilstm_vse", attrs, s, device,
                                    None if run_dir is None else Path(run_dir) / f"{name}-seed{s}")
            label = "true attributes + formality" if formality else "true attributes drawn on the images"
            rows.append({ENCODER: label, **evaluate(model, attrs, device)})
        rows.append({ENCODER: "FashionWorld oracle", **oracle(data)})
    return pd.DataFrame(rows).set_index(ENCODER)


def attribute_numbers(diagnostic: pd.DataFrame) -> dict[str, float]:
    """The attribute diagnostic's glue keys (``ch1_attr_*``); {} when it has only the images row."""
    if "FashionWorld oracle" not in diagnostic.index:
        return {}
    drawn = diagnostic.loc["true attributes drawn on the images"]
    every = diagnostic.loc["true attributes + formality"]
    best = float(diagnostic.loc["FashionWorld oracle", "fitb_type"])
    return {"ch1_attr_drawn_fitb_type": float(drawn["fitb_type"]), "ch1_attr_drawn_auc": float(drawn["auc"]),
            "ch1_attr_fitb_type": float(every["fitb_type"]), "ch1_attr_auc": float(every["auc"]),
            "ch1_attr_drawn_fitb_type_ratio": progress_ratio(float(drawn["fitb_type"]), chance()["fitb_type"],
                                                             best)}


def claim_verdicts(tested: dict) -> dict[str, str]:
    """``{(claim key, metric): Claim}`` -> the verdict glue keys ``ch1_claim_<key>_<metric>``."""
    return {f"ch1_claim_{key}_{c}": found.verdict for (key, c), found in tested.items()}


def generation_numbers(precision: pd.Series, check: dict) -> dict[str, float]:
    """The generation section's glue keys: the VSE's mean precision@20 and each word's
    (``ch1_vse_precision20[_<word>]``), and the automatic check's ``ch1_gen_valid`` and
    ``ch1_gen_beats_random``; {} on real data (no texts to check, no oracle)."""
    out: dict[str, float] = {}
    if len(precision):
        out["ch1_vse_precision20"] = float(precision.mean())
        out |= {f"ch1_vse_precision20_{w}": float(v) for w, v in precision.items()}
    if check:
        out |= {"ch1_gen_beats_random": check["beats_random"], "ch1_gen_valid": check["valid"]}
    return out


# ----- receipts: the text the notebook's checked cells print ---------------------------------------
def receipt_data(data: OutfitTasks, min_word_count: int) -> str:
    """Sizes of the run's data: items, outfits, gallery, vocabulary, tasks, the model inputs' shape."""
    shape = data.table.inputs.shape if data.table.inputs is not None else None
    return "\n".join([
        (f"items: {len(data.table.item_ids)}, outfits train/test: {len(data.train)}/{len(data.test)}, "
         f"test gallery: {len(data.gallery)}"),
        f"vocabulary (words seen >= {min_word_count} times in training texts): {len(data.vocab)} words",
        (f"FITB questions random/type: {len(data.fitb['random'])}/{len(data.fitb['type'])}, "
         f"compatibility outfits: {len(data.compatibility)}"),
        f"model inputs: {tuple(shape) if shape is not None else 'images from disk'}"])


def receipt_results(cfg: Config, summary: pd.DataFrame, diagnostic: pd.DataFrame, precision: pd.Series,
                    check: dict, findings: pd.DataFrame) -> str:
    """The chapter's results to 3 decimals: the seeds, each method's mean and sd per metric, the attribute
    diagnostic, the VSE's precision@20 per word, the generation check and the table of claims."""
    words = precision.round(3).to_string() if len(precision) else "no item texts to check"
    rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in check.items()}
    return "\n".join([f"seeds per method: {len(cfg.seeds)}", summary.round(3).to_string(),
                      diagnostic.round(3).to_string(), words, str(rounded), findings.to_string()])
