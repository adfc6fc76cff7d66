"""What ``fashionrec.train.fit`` needs from chapter 4: the models to train, their loaders and the
validation metric (the losses are in ``model``).

Three variants of the joint embedding are compared (``VARIANTS``): MBMR with word2vec-initialised
words (the paper's model), the triplet loss instead of MBMR, and MBMR with random word vectors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from fashionrec import backbones
from fashionrec.joint_embedding.config import Config
from fashionrec.joint_embedding.data import Data
from fashionrec.joint_embedding.evaluate import retrieval_recall
from fashionrec.joint_embedding.model import CNNEncoder, JointEmbedding, VisualModel, embed
from fashionrec.text import train_word2vec
from fashionrec.train import loader_options

VARIANTS: dict[str, tuple[str, bool]] = {  # name -> (matching loss, word2vec initialisation)
    "MBMR": ("mbmr", True), "triplet": ("triplet", True), "MBMR, random init": ("mbmr", False)}


def word_vectors(cfg: Config, data: Data, seed: int) -> np.ndarray:
    """(V, dim) word2vec vectors trained on the training texts (``text.train_word2vec``)."""
    docs = [data.vocab.encode(w) for w in data.words["train"]]
    return train_word2vec(docs, len(data.vocab), cfg.dim, steps=cfg.w2v_steps, seed=seed)


def make_encoder(cfg: Config) -> CNNEncoder | None:
    """The CNN when it is fine-tuned (``cfg.finetune``); None = the inputs are cached features."""
    if not cfg.finetune:
        return None
    return CNNEncoder(backbones.build_backbone(cfg.backbone, pretrained=cfg.pretrained))


def _standardisation(data: Data) -> tuple[np.ndarray | None, np.ndarray | None]:
    s = data.standardiser
    return (None, None) if s is None else (s.mean, s.std + s.eps)


def make_model(cfg: Config, data: Data, vectors: np.ndarray | None = None) -> JointEmbedding:
    """A fresh joint embedding for ``data`` (``vectors``: initial word vectors; None = random)."""
    mean, std = _standardisation(data)
    return JointEmbedding(data.image_dim, len(data.vocab), cfg.dim, make_encoder(cfg), vectors, mean, std)


def make_judge(cfg: Config, data: Data) -> VisualModel:
    """A fresh visual-only judge of V-nDCG."""
    mean, std = _standardisation(data)
    return VisualModel(data.image_dim, cfg.judge_dim, make_encoder(cfg), mean, std)


def train_loader(cfg: Config, data: Data, generator: torch.Generator) -> DataLoader:
    """Shuffled (image inputs, bag of words) batches of the training items."""
    pairs = TensorDataset(torch.as_tensor(data.inputs["train"]), torch.as_tensor(data.bags["train"]))
    return DataLoader(pairs, batch_size=cfg.train.batch_size, shuffle=True, drop_last=True, generator=generator,
                      **loader_options(cfg.train))


def judge_loader(cfg: Config, data: Data, generator: torch.Generator) -> DataLoader:
    """Shuffled (shop image, another image of the same item) batches for the judge."""
    pairs = TensorDataset(torch.as_tensor(data.inputs["train"][data.photo_items]),
                          torch.as_tensor(data.photo_inputs))
    return DataLoader(pairs, batch_size=cfg.judge_train.batch_size, shuffle=True, drop_last=True,
                      generator=generator, **loader_options(cfg.judge_train))


def valid_recall(data: Data, device: str | torch.device = "cpu") -> Callable[[JointEmbedding], float]:
    """The validation metric that picks the best epoch: text -> image recall@10 on the valid items."""
    def metric(model: JointEmbedding) -> float:
        f_texts = embed(model.text_embedding, data.bags["valid"], device=device)
        return retrieval_recall(f_texts, embed(model.image_embedding, data.inputs["valid"], device=device), k=10)

    return metric


def run_name(variant: str, seed: int) -> str:
    """The run sub-folder of one trained model (``MBMR-random_init-seed0``)."""
    return f"{variant.replace(', ', '-').replace(' ', '_')}-seed{seed}"
