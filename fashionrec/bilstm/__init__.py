"""Chapter 1: outfit compatibility with a Bi-LSTM and a visual-semantic embedding (Han et al., ACM MM 2017).

``config`` (the knobs and presets), ``model`` (the Bi-LSTM, the VSE, their losses; Sec. 3), ``data``
(``load_data``: FashionWorld or Polyvore -> items, outfits, FITB and compatibility tasks), ``train``
(the model and its loader for ``fashionrec.train.fit``), ``evaluate`` (outfit scores -> FITB accuracy
and AUC, the receipts and glue values), ``generate`` (outfit generation from images and text; Sec. 4.4),
``figures`` (the FashionWorld figures; None on real data). A notebook needs
``from fashionrec import bilstm``.
"""

from fashionrec.bilstm.config import CELLS, LABELS, METHODS, VARIANTS, Config
from fashionrec.bilstm.data import (ItemTable, OutfitTasks, PooledMap, collate_outfits, encode_texts, load_data,
                                    with_attributes)
from fashionrec.bilstm.evaluate import (CLAIMS, ENCODER, METRICS, PAPER, attribute_diagnostic, attribute_numbers,
                                        chance, claim_verdicts, embed_items, evaluate, fitb_scores,
                                        generation_numbers, headline_numbers, oracle, receipt_data,
                                        receipt_results, score_outfits)
from fashionrec.bilstm.figures import fitb_questions, generated_outfits, training_outfits
from fashionrec.bilstm.generate import (check_generation, demo_outfits, edit_with_text, generate_outfit,
                                        generation_check, nearest_to_text, text_precision, text_vector)
from fashionrec.bilstm.model import (BiLSTMVSE, SetRNN, SiameseNet, build_model, loss_fn, next_targets,
                                     reverse_padded, sequence_nll, shuffled_outfits, siamese_loss, vse_loss)
from fashionrec.bilstm.train import make_loader, model_and_loader, train_method

__all__ = ["CELLS", "CLAIMS", "ENCODER", "LABELS", "METHODS", "METRICS", "PAPER", "VARIANTS", "BiLSTMVSE", "Config",
           "ItemTable", "OutfitTasks", "PooledMap", "SetRNN", "SiameseNet", "attribute_diagnostic",
           "attribute_numbers",
           "build_model", "chance", "check_generation", "claim_verdicts", "collate_outfits", "demo_outfits",
           "edit_with_text", "embed_items", "encode_texts", "evaluate", "fitb_questions", "fitb_scores",
           "generate_outfit", "generated_outfits", "generation_check", "generation_numbers", "headline_numbers",
           "load_data", "loss_fn", "make_loader", "model_and_loader", "nearest_to_text", "next_targets", "oracle",
           "receipt_data", "receipt_results", "reverse_padded", "score_outfits", "sequence_nll", "shuffled_outfits", "siamese_loss",
           "text_precision", "text_vector", "train_method", "training_outfits", "vse_loss", "with_attributes"]
