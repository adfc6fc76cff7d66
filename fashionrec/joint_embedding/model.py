"""Joint visual-textual embedding with attribute extraction (Sadeh et al. 2019, Sec. 3, Fig. 2).

An image goes through a CNN and one FC layer to ``f_I``; a text is a bag of words whose word
embeddings are summed to ``f_T``; both live in one space compared by cosine. Training pulls each
image towards its own text with the Mini-Batch Match Retrieval loss (Eq. 1-3), or with a triplet
loss for comparison, and an attribute head (FC + sigmoid over the vocabulary) learns which words
of the item's text its image shows. Total loss = L_match + lambda * L_a.

On the CPU profiles the CNN is a frozen, pretrained EfficientNet-Lite0 whose features are cached
(``encoder=None``: the model's input is the feature vector); the ``paper`` profile fine-tunes a
ResNet-18 (``encoder=CNNEncoder(backbone)``: the input is uint8 images).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec.backbones import Backbone


# ----- the model ------------------------------------------------------------------------------
class CNNEncoder(nn.Module):
    """uint8 (B, H, W, 3) or float (B, 3, H, W) images -> (B, backbone.dim) CNN features."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone
        self.dim = backbone.dim

    def forward(self, images: Tensor) -> Tensor:
        if images.dtype == torch.uint8:
            images = images.permute(0, 3, 1, 2).float().div(255)  # (B, 3, H, W) in [0, 1]
        return self.backbone.features(images)


class JointEmbedding(nn.Module):
    """f_I = FC(CNN(I)), f_T = sum of word embeddings, p_w(I) = sigmoid(FC(f_I)) (Fig. 2).

    Args:
        image_dim: size of the CNN feature vector.
        vocab_size: V, the number of words kept by ``fashionrec.text``.
        dim: size of the joint space.
        encoder: the CNN (``CNNEncoder``); None = inputs are already CNN features.
        word_vectors: (V, dim) initial word embeddings (word2vec); None = random N(0, 1/dim).
        feature_mean, feature_std: (image_dim,) standardisation of the CNN features (a fixed
            buffer; frozen features of a pretrained CNN are far from zero-mean).
    """

    def __init__(self, image_dim: int, vocab_size: int, dim: int = 512, encoder: nn.Module | None = None,
                 word_vectors: np.ndarray | None = None, feature_mean: np.ndarray | None = None,
                 feature_std: np.ndarray | None = None):
        super().__init__()
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.register_buffer("feature_mean", _vec(feature_mean, image_dim, 0.0))
        self.register_buffer("feature_std", _vec(feature_std, image_dim, 1.0))
        self.image_fc = nn.Linear(image_dim, dim)
        if word_vectors is None:
            words = torch.randn(vocab_size, dim) / dim ** 0.5
        else:
            if word_vectors.shape != (vocab_size, dim):
                raise ValueError(f"word_vectors must be (V, dim) = {(vocab_size, dim)}; got {word_vectors.shape}")
            words = torch.as_tensor(word_vectors, dtype=torch.float32).clone()
        self.word_embedding = nn.Parameter(words)  # (V, D)
        self.attribute_head = nn.Linear(dim, vocab_size)

    def image_embedding(self, images: Tensor) -> Tensor:
        """(B, ...) images or CNN features -> (B, D) f_I."""
        x = self.encoder(images)  # (B, image_dim)
        return self.image_fc((x - self.feature_mean) / self.feature_std)

    def text_embedding(self, bags: Tensor) -> Tensor:
        """(B, V) word counts -> (B, D) f_T = sum_w count_w e_w (bag of words)."""
        return bags @ self.word_embedding

    def attribute_logits(self, f_images: Tensor) -> Tensor:
        """(B, D) f_I -> (B, V) logits of p_w(I), the probability that word w describes image I."""
        return self.attribute_head(f_images)

    def forward(self, images: Tensor, bags: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f_images = self.image_embedding(images)
        return f_images, self.text_embedding(bags), self.attribute_logits(f_images)


def _vec(x: np.ndarray | None, n: int, default: float) -> Tensor:
    return torch.full((n,), default) if x is None else torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(n)


# ----- losses ---------------------------------------------------------------------------------
def cosine_matrix(a: Tensor, b: Tensor) -> Tensor:
    """(B, D), (C, D) -> (B, C) cosine similarities S_{a_i, b_j} (Eq. 1)."""
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


def mbmr_loss(f_images: Tensor, f_texts: Tensor, tau: float = 0.1) -> Tensor:
    """Mini-Batch Match Retrieval loss (Eq. 2-3), averaged over the batch.

    P(T_j | I_i) = softmax_j(S_{I_i,T_j} / tau), P(I_j | T_i) = softmax_j(S_{I_j,T_i} / tau);
    L = -mean_i log P(T_i | I_i) - mean_i log P(I_i | T_i). (The paper sums over i; the mean
    only rescales the gradient.)
    """
    s = cosine_matrix(f_images, f_texts) / tau  # (B, B): row i = image i against every text
    target = torch.arange(len(s), device=s.device)
    return F.cross_entropy(s, target) + F.cross_entropy(s.T, target)


def triplet_loss(f_anchors: Tensor, f_positives: Tensor, margin: float = 0.2) -> Tensor:
    """Bidirectional hinge on cosines with every other item of the batch as a negative.

    sum_{j != i} [m - S_ii + S_ij]_+ + [m - S_ii + S_ji]_+, averaged over anchors i
    (Kiros et al. 2014's ranking loss, the triplet comparison of Sadeh et al.).
    """
    s = cosine_matrix(f_anchors, f_positives)  # (B, B)
    pos = s.diagonal()  # (B,)
    off = ~torch.eye(len(s), dtype=torch.bool, device=s.device)
    cost_text = (margin - pos[:, None] + s).clamp(min=0)[off]  # anchor i, wrong positive j
    cost_image = (margin - pos[None, :] + s).clamp(min=0)[off]  # positive j, wrong anchor i
    return (cost_text.sum() + cost_image.sum()) / len(s)


def attribute_loss(logits: Tensor, bags: Tensor) -> Tensor:
    """Multi-label loss of the attribute head: binary cross-entropy against "word w is in the
    item's text", averaged over words and items."""
    return F.binary_cross_entropy_with_logits(logits, (bags > 0).float())


@dataclass(frozen=True)
class JointLoss:
    """(model, (images, bags)) -> L_match + lambda * L_a; ``match`` is "mbmr" or "triplet"."""

    match: str = "mbmr"
    tau: float = 0.1
    margin: float = 0.2
    attr_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.match not in ("mbmr", "triplet"):
            raise ValueError(f"match must be 'mbmr' or 'triplet', not {self.match!r}")

    def __call__(self, model: JointEmbedding, batch: tuple[Tensor, Tensor]) -> Tensor:
        images, bags = batch
        f_images, f_texts, logits = model(images, bags)
        if self.match == "mbmr":
            match = mbmr_loss(f_images, f_texts, self.tau)
        else:
            match = triplet_loss(f_images, f_texts, self.margin)
        return match + self.attr_weight * attribute_loss(logits, bags)


# ----- the visual-only judge of V-nDCG ----------------------------------------------------------
class VisualModel(nn.Module):
    """CNN (or cached features) + FC, trained with a triplet loss where another image of the same
    item is the positive (Sadeh et al., Sec. 5: the baseline whose cosine is V-nDCG's relevance)."""

    def __init__(self, image_dim: int, dim: int = 256, encoder: nn.Module | None = None,
                 feature_mean: np.ndarray | None = None, feature_std: np.ndarray | None = None):
        super().__init__()
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.register_buffer("feature_mean", _vec(feature_mean, image_dim, 0.0))
        self.register_buffer("feature_std", _vec(feature_std, image_dim, 1.0))
        self.fc = nn.Linear(image_dim, dim)

    def forward(self, images: Tensor) -> Tensor:
        return self.fc((self.encoder(images) - self.feature_mean) / self.feature_std)


@dataclass(frozen=True)
class SameItemTripletLoss:
    """(model, (shop images, other images of the same items)) -> triplet loss with in-batch negatives."""

    margin: float = 0.2

    def __call__(self, model: VisualModel, batch: tuple[Tensor, Tensor]) -> Tensor:
        shop, other = batch
        return triplet_loss(model(shop), model(other), self.margin)


# ----- helpers ----------------------------------------------------------------------------------
@torch.no_grad()
def embed(fn, inputs: np.ndarray | Tensor, batch_size: int = 256, device: str | torch.device = "cpu") -> np.ndarray:
    """Apply ``fn`` (a model method) to ``inputs`` in batches; float32 (N, D) numpy."""
    out = []
    for start in range(0, len(inputs), batch_size):
        x = torch.as_tensor(np.asarray(inputs[start:start + batch_size])).to(device)
        out.append(fn(x).float().cpu())
    return torch.cat(out).numpy()
