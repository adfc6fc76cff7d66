"""Chapter 1: outfit compatibility with a Bi-LSTM and a visual-semantic embedding (Han et al., ACM MM 2017).

``config`` (the knobs and presets), ``model`` (the Bi-LSTM, the VSE, their losses; Sec. 3), ``data``
(``load_data``: FashionWorld or Polyvore -> items, outfits, FITB and compatibility tasks), ``train``
(the model and its loader for ``fashionrec.train.fit``), ``evaluate`` (outfit scores -> FITB accuracy
and AUC), ``generate`` (outfit generation from images and text; Sec. 4.4). A notebook needs
``from fashionrec import bilstm``.
"""

from fashionrec.bilstm.config import LABELS, METHODS, VARIANTS, Config
from fashionrec.bilstm.data import (ItemTable, OutfitTasks, PooledMap, collate_outfits, encode_texts, load_data,
                                    with_attributes)
from fashionrec.bilstm.evaluate import (CLAIMS, METRICS, PAPER, chance, embed_items, evaluate, fitb_scores,
                                        headline_numbers, oracle,
                                        score_outfits)
from fashionrec.bilstm.generate import (edit_with_text, generate_outfit, generation_check, nearest_to_text,
                                        text_precision, text_vector, demo_outfits)
from fashionrec.bilstm.model import (BiLSTMVSE, SiameseNet, build_model, loss_fn, next_targets, reverse_padded,
                                     sequence_nll, siamese_loss, vse_loss)
from fashionrec.bilstm.train import make_loader, model_and_loader, train_method

__all__ = ["Config", "LABELS", "METHODS", "VARIANTS", "ItemTable", "OutfitTasks", "PooledMap", "collate_outfits",
           "encode_texts", "load_data", "with_attributes", "CLAIMS", "METRICS", "PAPER", "chance", "embed_items", "evaluate",
           "fitb_scores", "headline_numbers", "oracle", "score_outfits", "edit_with_text", "generate_outfit", "generation_check",
           "nearest_to_text", "demo_outfits", "text_precision", "text_vector", "BiLSTMVSE", "SiameseNet", "build_model", "loss_fn", "next_targets",
           "reverse_padded", "sequence_nll", "siamese_loss", "vse_loss", "make_loader", "model_and_loader",
           "train_method"]
