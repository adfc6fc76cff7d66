"""Chapter 5, Complete the Look (Kang et al., CVPR 2019): one import for the notebook.

``from fashionrec import ctl``: ``ctl.Config``, ``ctl.load_data``, the model (``ctl.CTL``,
``ctl.triplet_loss``), training pieces for ``train.fit``, the evaluation, and the receipts and glue
values the notebook prints and records.
"""

from fashionrec.ctl import figures
from fashionrec.ctl.config import Config
from fashionrec.ctl.data import (CTLData, CTLSplit, attribute_data, backbone_maps, load_data, make_backbone,
                                 negative_key, receipt_data, sample_negatives)
from fashionrec.ctl.evaluate import (GLUE_NAMES, KS, METRICS, attention_glue, attention_maps, attention_top_rows,
                                     chance, claims_glue, evaluate, evaluate_model, evaluate_raw,
                                     fashionworld_oracle, glue_name, glue_values, oracle_results, per_seed,
                                     receipt_attention, receipt_results, recommend, results_frame, results_glue,
                                     valid_accuracy)
from fashionrec.ctl.model import CTL, MODES, raw_distance, triplet_loss
from fashionrec.ctl.train import build_model, make_loss, train_loader, training_standardisers

__all__ = ["CTL", "CTLData", "CTLSplit", "Config", "GLUE_NAMES", "KS", "METRICS", "MODES", "attention_glue",
           "attention_maps", "attention_top_rows", "attribute_data", "backbone_maps", "build_model", "chance",
           "claims_glue", "evaluate", "evaluate_model", "evaluate_raw", "fashionworld_oracle", "glue_name",
           "glue_values", "load_data", "make_backbone", "make_loss", "negative_key", "oracle_results", "per_seed",
           "raw_distance", "receipt_attention", "receipt_data", "receipt_results", "recommend", "results_frame",
           "results_glue", "sample_negatives", "train_loader", "training_standardisers", "triplet_loss",
           "valid_accuracy"]
