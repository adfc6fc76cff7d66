"""Chapter 3: consumer-to-shop retrieval (Menezes & Kanitkar, CS231n 2018).

For each consumer (street) photo, rank the shop images of its category; top-k accuracy is the share
of photos whose item is among the k best. Three ways to rank:

1. white-box features (``whitebox``: HOG, Harris corners, HSV histogram, colour coherence vector)
   and a fixed distance (L1, L2, cosine);
2. pretrained CNN features (the last hidden layer) and a fixed distance, L1 in the paper;
3. a Siamese network over (consumer, shop) CNN feature pairs that learns the score (``model``).

Modules: ``config`` (``Config``), ``data`` (``load_data``), ``model``, ``train``, ``evaluate``,
``whitebox``, ``figures``, and ``serve`` (the REST service: ``python -m fashionrec.c2s.serve``;
imported on its own, it needs FastAPI).
"""

from fashionrec.c2s import figures
from fashionrec.backbones import build_backbone
from fashionrec.c2s.config import CATEGORIES, DISTANCES, PAPER_BACKBONES, Config
from fashionrec.c2s.data import C2SData, C2SSplit, cnn_features, load_data, receipt_data, split_features
from fashionrec.c2s.evaluate import (
    category_mean,
    category_rankings,
    chain_verdict,
    chance_curves,
    headline,
    knn_curves,
    mean_curves,
    method_names,
    oracle_curves,
    oracle_mean,
    receipt_results,
    results_frame,
    topk_curves,
    verdict_glue,
)
from fashionrec.c2s.model import SiameseNet, load_siamese, save_siamese, siamese_loss, siamese_vectors
from fashionrec.c2s.train import PairDataset, siamese_setup, train_siamese, valid_top_k
from fashionrec.c2s.whitebox import cached_whitebox, split_whitebox, whitebox_features

__all__ = [
    "CATEGORIES", "DISTANCES", "PAPER_BACKBONES", "C2SData", "C2SSplit", "Config", "PairDataset", "SiameseNet",
    "build_backbone",
    "cached_whitebox", "category_mean", "category_rankings", "chain_verdict", "chance_curves", "cnn_features",
    "figures", "headline", "knn_curves", "load_data", "load_siamese", "mean_curves", "method_names",
    "oracle_curves", "oracle_mean", "receipt_data", "receipt_results", "results_frame", "save_siamese",
    "siamese_loss", "siamese_setup", "siamese_vectors", "split_features", "split_whitebox", "topk_curves",
    "train_siamese", "valid_top_k", "verdict_glue", "whitebox_features",
]
