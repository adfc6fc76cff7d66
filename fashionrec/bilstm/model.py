"""Outfit compatibility with a Bi-LSTM and a visual-semantic embedding (Han et al., ACM MM 2017).

An outfit is a sequence of item images in category order. A forward LSTM predicts each next item
from the ones before it, a backward LSTM each previous item from the ones after; the prediction is a
softmax over a set of images (the mini-batch in training; Sec. 3.1). A visual-semantic embedding (VSE)
ties each image to its catalog text (Sec. 3.2). The joint loss (Sec. 3.3) trains the encoder through both.

Ablations (paper Table 1) are variants of the same class (Bi-GRU and Bi-RNN swap the LSTM cell); the
baselines are :class:`SiameseNet` and :class:`SetRNN`.
The data the model reads is in ``data``, scoring (FITB, compatibility) in ``evaluate``, outfit
generation (Sec. 4.4) in ``generate``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec.backbones import Backbone, build_backbone
from fashionrec.bilstm.config import CELLS, VARIANTS, Config


# ----- the paper's equations --------------------------------------------------------------------
def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the first ``lengths[b]`` steps of each row of (B, T, ...); padding stays at the end."""
    steps = torch.arange(x.shape[1], device=x.device)
    index = (lengths[:, None] - 1 - steps[None]).clamp(min=0)  # (B, T)
    index = torch.where(steps[None] < lengths[:, None], index, steps[None].expand_as(index))
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


def next_targets(rows: Tensor, lengths: Tensor, stop: int) -> Tensor:
    """(B, T) index of the item after each step in the candidate set; ``stop`` after the last item (x_{N+1})."""
    steps = torch.arange(rows.shape[1], device=rows.device)
    following = torch.cat([rows[:, 1:], rows[:, :1]], dim=1)  # the wrap-around is overwritten below
    return torch.where(steps[None] < lengths[:, None] - 1, following, torch.full_like(rows, stop))


def sequence_nll(predictions: Tensor, targets: Tensor, candidates: Tensor, lengths: Tensor) -> Tensor:
    """Sec. 3.1: E = -1/N sum_t log Pr(x_{t+1} | x_{<=t}), Pr = exp(h_t . x_{t+1}) / sum_{x in X} exp(h_t . x).

    predictions: (B, T, D) h_t; targets: (B, T) row of x_{t+1} in ``candidates`` (C, D), the set X
    (its zero row is the stop vector). Returns (B,) the mean over each outfit's N steps.
    """
    mask = torch.arange(targets.shape[1], device=targets.device)[None] < lengths[:, None]  # (B, T)
    logits = predictions[mask] @ candidates.T  # (n_steps, C): padding is skipped
    nll = F.cross_entropy(logits, targets[mask], reduction="none")  # (n_steps,)
    outfit = torch.arange(len(lengths), device=lengths.device)[:, None].expand_as(mask)[mask]
    return torch.zeros(len(lengths), dtype=nll.dtype, device=nll.device).index_add_(0, outfit, nll) / lengths


def vse_loss(images: Tensor, texts: Tensor, margin: float = 0.2) -> Tensor:
    """Sec. 3.2: sum_f sum_k max(0, m - d(f, v) + d(f, v_k)) + sum_v sum_k max(0, m - d(v, f) + d(v, f_k)).

    images f, texts v: (n, D), row i of each a pair; both L2-normalised so d is the cosine; the other
    rows of the batch are the negatives. Divided by n^2 as in the authors' code.
    """
    f, v = F.normalize(images, dim=-1), F.normalize(texts, dim=-1)
    scores = v @ f.T  # (n, n) d(v_i, f_j)
    positive = scores.diag()
    off = ~torch.eye(len(scores), dtype=torch.bool, device=scores.device)
    cost_text = (margin - positive[:, None] + scores).clamp(min=0)  # text anchors, image negatives
    cost_image = (margin - positive[None, :] + scores).clamp(min=0)  # image anchors, text negatives
    return ((cost_text + cost_image) * off).sum() / len(scores) ** 2


def siamese_loss(embeddings: Tensor, outfit_of: Tensor, margin: float = 0.8) -> Tensor:
    """SiameseNet baseline (the authors' code): cosine similarity of items of one outfit up, of
    different outfits pushed below ``margin``: mean_neg max(0, s - m) - mean_pos s."""
    e = F.normalize(embeddings, dim=-1)
    sim = e @ e.T  # (N, N)
    same = outfit_of[:, None] == outfit_of[None, :]
    pos = same & ~torch.eye(len(e), dtype=torch.bool, device=e.device)
    return (sim - margin).clamp(min=0)[~same].mean() - sim[pos].mean()


def shuffled_outfits(rows: Tensor, lengths: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """SetRNN's negatives: (B, T) outfits whose item at each position t comes from position t of another
    outfit of the batch that is that long (a random combination in category order, as Han et al.'s
    incompatible outfits: "random items from different outfits"). Padding positions are kept."""
    out = rows.clone()
    for t in range(rows.shape[1]):
        holders = (lengths > t).nonzero().squeeze(1)  # the outfits with an item at position t
        order = torch.randperm(len(holders), generator=generator, device="cpu").to(rows.device)
        out[holders, t] = rows[holders[order], t]
    return out


# ----- models ------------------------------------------------------------------------------------
RNN_CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class _Encoder(nn.Module):
    """Image -> a shared vector: a backbone trained end to end, or frozen features + a trainable layer."""

    def __init__(self, cfg: Config, in_dim: int, backbone: Backbone | None):
        super().__init__()
        self.backbone = backbone
        layers: list[nn.Module] = [nn.Dropout(cfg.input_dropout)]
        if cfg.trunk_dim:
            layers += [nn.Linear(in_dim, cfg.trunk_dim), nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        self.dim = cfg.trunk_dim or in_dim

    def forward(self, inputs: Tensor) -> Tensor:
        if self.backbone is not None:
            inputs = self.backbone.features(inputs)  # (N, 3, H, W) -> (N, F)
        return self.trunk(inputs)  # (N, dim)


class BiLSTMVSE(nn.Module):
    """Bi-LSTM over an outfit's item embeddings plus a visual-semantic embedding (Sec. 3)."""

    def __init__(self, cfg: Config, in_dim: int, vocab_size: int, variant: str = "bilstm_vse",
                 backbone: Backbone | None = None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        self.variant, self.cfg = variant, cfg
        self.use_f, self.use_b, self.use_vse = VARIANTS[variant]
        d, h = cfg.embed_dim, cfg.lstm_dim
        self.encoder = _Encoder(cfg, in_dim, backbone)
        self.to_rnn = nn.Linear(self.encoder.dim, d, bias=False)  # x_t, the LSTM's item embedding
        self.to_vse = nn.Linear(self.encoder.dim, d, bias=False)  # W_I
        self.words = nn.Embedding(vocab_size + 1, d, padding_idx=0)  # W_T (row 0 = padding)
        self.drop = nn.Dropout(cfg.dropout)
        cell = RNN_CELLS[CELLS.get(variant, "lstm")]  # the forward and backward recurrent nets
        self.lstm_f, self.lstm_b = cell(d, h, batch_first=True), cell(d, h, batch_first=True)
        self.out_f, self.out_b = nn.Linear(h, d), nn.Linear(h, d)

    def encode(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """(N, ...) images or features -> x (N, D) for the LSTMs and f = W_I x (N, D) for the VSE."""
        shared = self.encoder(inputs)
        return self.to_rnn(shared), self.to_vse(shared)

    def text(self, tokens: Tensor) -> Tensor:
        """v = 1/M sum_i W_T e_i: the mean word embedding of each text (N, L) -> (N, D)."""
        n_words = tokens.ne(0).sum(1, keepdim=True).clamp(min=1)
        return self.words(tokens).sum(1) / n_words

    def predict(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, T, D) padded outfits -> forward h_t (B, T, D), and backward h_t over the reversed outfits
        (None for a direction the variant does not use)."""
        pf = pb = None  # a direction the variant does not train is not run
        if self.use_f:
            pf = self.out_f(self.drop(self.lstm_f(self.drop(x))[0]))
        if self.use_b:
            pb = self.out_b(self.drop(self.lstm_b(self.drop(reverse_padded(x, lengths)))[0]))
        return pf, pb

    def outfit_nll(self, x: Tensor, rows: Tensor, lengths: Tensor, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Forward and backward E (B,) of outfits given as ``rows`` (B, T) into ``candidates`` (C, D),
        whose last row is the stop vector; ``x`` (B, T, D) holds the outfits' embeddings."""
        stop = len(candidates) - 1
        pf, pb = self.predict(x, lengths)
        zero = x.new_zeros(len(x))
        e_f = zero if pf is None else sequence_nll(pf, next_targets(rows, lengths, stop), candidates, lengths)
        e_b = zero if pb is None else sequence_nll(pb, next_targets(reverse_padded(rows, lengths), lengths, stop),
                                                   candidates, lengths)
        return e_f, e_b

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Sec. 3.3: E_f + E_b + lambda E_e (lambda = ``cfg.vse_weight``; the paper's sum has lambda = 1).
        X, the softmax set of E_f and E_b, is the batch's distinct images and the stop vector (or all
        training images with ``softmax="pool"``); the VSE's negatives are the batch's other items."""
        x, f = self.encode(batch["inputs"])  # (U, D) each
        index, lengths = batch["index"], batch["lengths"]  # (N,), (B,)
        total = x.new_zeros(())
        if self.use_f or self.use_b:
            rows = index[_pad_rows(lengths)]  # (B, T) positions in X
            candidates = torch.cat([x, x.new_zeros(1, x.shape[1])])  # X + the stop vector
            e_f, e_b = self.outfit_nll(candidates[rows], rows, lengths, candidates)
            total = total + e_f.mean() + e_b.mean()
        if self.use_vse:
            items = index.unique()  # the outfits' items (all of X unless X is the training pool)
            items = items[batch["tokens"][items].ne(0).any(1)]  # with at least one known word
            if len(items) > 1:
                e_e = vse_loss(f[items], self.text(batch["tokens"][items]), self.cfg.margin)
                total = total + self.cfg.vse_weight * e_e
            else:  # no two items with a known word (real data, tiny vocabulary): nothing to align
                total = total + 0.0 * f.sum()
        return total


class SiameseNet(nn.Module):
    """Pairwise metric-learning baseline: items of one outfit close, others apart (cosine)."""

    def __init__(self, cfg: Config, in_dim: int, backbone: Backbone | None = None):
        super().__init__()
        self.cfg, self.variant = cfg, "siamese"
        self.encoder = _Encoder(cfg, in_dim, backbone)
        self.project = nn.Linear(self.encoder.dim, cfg.embed_dim, bias=False)

    def embed(self, inputs: Tensor) -> Tensor:
        return self.project(self.encoder(inputs))

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        lengths = batch["lengths"]
        outfit_of = torch.repeat_interleave(torch.arange(len(lengths), device=lengths.device), lengths)
        return siamese_loss(self.embed(batch["inputs"])[batch["index"]], outfit_of, self.cfg.siamese_margin)


class SetRNN(nn.Module):
    """SetRNN baseline (Li et al. 2016, as Han et al. 2017 Table 1 train it): an LSTM reads the outfit's
    items in category order and a linear layer on its last state gives the outfit's compatibility
    logit, trained with binary cross-entropy on the batch's outfits (label 1) against as many random
    combinations of the batch's items (``shuffled_outfits``, label 0). FITB picks the best-scored outfit."""

    def __init__(self, cfg: Config, in_dim: int, backbone: Backbone | None = None):
        super().__init__()
        self.cfg, self.variant = cfg, "setrnn"
        self.encoder = _Encoder(cfg, in_dim, backbone)
        self.project = nn.Linear(self.encoder.dim, cfg.embed_dim, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = nn.LSTM(cfg.embed_dim, cfg.lstm_dim, batch_first=True)
        self.head = nn.Linear(cfg.lstm_dim, 1)

    def embed(self, inputs: Tensor) -> Tensor:
        """(N, ...) images or features -> the items' RNN inputs (N, D)."""
        return self.project(self.encoder(inputs))

    def score(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, D) padded outfits -> (B,) compatibility logits from the last real step's state."""
        states = self.rnn(self.drop(x))[0]  # (B, T, H)
        last = states[torch.arange(len(lengths), device=x.device), lengths - 1]  # (B, H)
        return self.head(self.drop(last)).squeeze(1)

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        lengths = batch["lengths"]
        x = self.embed(batch["inputs"])  # (U, D)
        rows = batch["index"][_pad_rows(lengths)]  # (B, T) positions in x
        negatives = shuffled_outfits(rows, lengths)
        logits = torch.cat([self.score(x[rows], lengths), self.score(x[negatives], lengths)])
        labels = torch.cat([torch.ones(len(lengths)), torch.zeros(len(lengths))]).to(logits)
        return F.binary_cross_entropy_with_logits(logits, labels)


def _pad_rows(lengths: Tensor) -> Tensor:
    """(B, T) positions of each outfit's items in the flattened batch (padding repeats the last)."""
    starts = torch.cumsum(lengths, 0) - lengths
    steps = torch.arange(int(lengths.max()), device=lengths.device)
    return starts[:, None] + torch.minimum(steps[None], lengths[:, None] - 1)


def build_model(cfg: Config, method: str, in_dim: int, vocab_size: int) -> nn.Module:
    """The model of ``method`` (a VARIANTS key, "siamese" or "setrnn"); with ``cfg.finetune`` it owns the backbone."""
    backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained) if cfg.finetune else None
    in_dim = backbone.dim if backbone is not None else in_dim
    if method == "siamese":
        return SiameseNet(cfg, in_dim, backbone)
    if method == "setrnn":
        return SetRNN(cfg, in_dim, backbone)
    return BiLSTMVSE(cfg, in_dim, vocab_size, method, backbone)


def loss_fn(model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
    """For ``train.fit``."""
    return model.loss(batch)


