"""Chapter 4: joint visual-textual embedding for multimodal style search (Sadeh et al. 2019).

One import for the notebook: ``from fashionrec import joint_embedding as je``.

- ``config``: ``Config`` (smoke / standard / paper presets);
- ``data``: ``load_data(cfg)``, the catalog, its words and the model's inputs;
- ``model``: the joint embedding, the MBMR / triplet / attribute losses, the visual-only judge;
- ``train``: the variants, their models, loaders and validation metric for ``fashionrec.train.fit``;
- ``search``: query arithmetic, soft / hard attribute filters, search at catalog scale;
- ``evaluate``: V-, T- and MM-nDCG of every method, the chapter's claims.
"""

from fashionrec.joint_embedding import figures
from fashionrec.joint_embedding.config import Config
from fashionrec.joint_embedding.data import (KINDS, SPLITS, Data, SearchData, first_of_each_kind, from_catalog,
                                             from_world, load_data, receipt_data, receipt_vocab)
from fashionrec.joint_embedding.evaluate import (BEST_SINGLE, CLAIMS, COMPARED, DISCOUNT, ROWS, SCORES, VARIANT_KEYS,
                                                 chance_ndcg, claims_frame, evaluate, evaluate_models, headline,
                                                 kind_table, method_key, method_summary, ndcg_at_k, oracle_scores,
                                                 per_seed, receipt_judge, receipt_results, results_glue,
                                                 results_table, retrieval_recall, retrieval_recalls, search_engine,
                                                 table, text_relevance, tune_weight, variant_comparison,
                                                 variant_headline, visual_relevance)
from fashionrec.joint_embedding.model import (CNNEncoder, JointEmbedding, JointLoss, SameItemTripletLoss, VisualModel,
                                              attribute_loss, cosine_matrix, embed, mbmr_loss, triplet_loss)
from fashionrec.joint_embedding.search import (METHODS, EmbeddingSampler, MultimodalSearch, Request, ScalableSearch,
                                               arithmetic_query, benchmark_results, exact_soft_search, filtered_scores,
                                               hard_filter, hard_scores, latencies, normalize, recall_at_k,
                                               save_embeddings, scale_glue, scale_study, soft_filter, text_vector,
                                               value_word_ids)
from fashionrec.text import nearest_words
from fashionrec.joint_embedding.train import (VARIANTS, judge_loader, make_encoder, make_judge, make_model, run_name,
                                              train_loader, valid_recall, word_vectors)

__all__ = [
    "Config", "KINDS", "SPLITS", "Data", "SearchData", "first_of_each_kind", "from_catalog", "from_world",
    "load_data", "receipt_data", "receipt_vocab", "BEST_SINGLE", "CLAIMS", "COMPARED", "DISCOUNT", "ROWS", "SCORES",
    "VARIANT_KEYS", "chance_ndcg", "claims_frame", "evaluate", "evaluate_models", "headline", "kind_table",
    "method_key", "method_summary", "ndcg_at_k", "oracle_scores", "per_seed", "receipt_judge", "receipt_results",
    "results_glue",
    "results_table", "retrieval_recall", "retrieval_recalls", "search_engine", "table", "text_relevance",
    "tune_weight", "variant_comparison", "variant_headline", "visual_relevance", "CNNEncoder", "JointEmbedding",
    "JointLoss", "SameItemTripletLoss", "VisualModel", "attribute_loss", "cosine_matrix", "embed", "mbmr_loss",
    "triplet_loss", "METHODS", "EmbeddingSampler", "benchmark_results", "MultimodalSearch", "Request",
    "ScalableSearch", "arithmetic_query", "exact_soft_search", "filtered_scores", "hard_filter", "hard_scores",
    "latencies", "normalize", "recall_at_k", "save_embeddings", "scale_glue", "scale_study", "soft_filter",
    "text_vector", "value_word_ids", "nearest_words", "VARIANTS", "judge_loader", "make_encoder", "make_judge",
    "make_model", "run_name", "train_loader", "valid_recall", "word_vectors",
]
