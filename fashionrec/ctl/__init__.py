"""Chapter 5, Complete the Look (Kang et al., CVPR 2019): one import for the notebook.

``from fashionrec import ctl``: ``ctl.Config``, ``ctl.load_data``, the model (``ctl.CTL``,
``ctl.triplet_loss``), training pieces for ``train.fit`` and the evaluation.
"""

from fashionrec.ctl.config import Config
from fashionrec.ctl.data import (CTLData, CTLSplit, attribute_data, backbone_maps, load_data, make_backbone,
                                 negative_key, sample_negatives)
from fashionrec.ctl.evaluate import (GLUE_NAMES, KS, METRICS, attention_maps, attention_top_rows, chance,
                                     evaluate, evaluate_model, evaluate_raw, fashionworld_oracle, glue_name,
                                     glue_values, per_seed, recommend, results_frame, valid_accuracy)
from fashionrec.ctl.model import CTL, MODES, raw_distance, triplet_loss
from fashionrec.ctl.train import build_model, make_loss, train_loader, training_standardisers

__all__ = ["CTL", "CTLData", "CTLSplit", "Config", "GLUE_NAMES", "KS", "METRICS", "MODES", "attention_maps",
           "attention_top_rows", "attribute_data", "backbone_maps", "build_model", "chance", "evaluate",
           "evaluate_model", "evaluate_raw", "fashionworld_oracle", "glue_name", "glue_values", "load_data",
           "make_backbone", "make_loss", "negative_key", "per_seed", "raw_distance", "recommend",
           "results_frame", "sample_negatives", "train_loader", "training_standardisers", "triplet_loss",
           "valid_accuracy"]
