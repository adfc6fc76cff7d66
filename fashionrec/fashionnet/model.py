"""FashionNet (He & Hu 2018): personalised outfit ranking with architectures A, B, C and two-stage training.

An outfit is a (top, bottom, shoes) triple. A FashionNet scores it with a *feature network* (a CNN)
and a *matching network* (fully connected layers ending in a 2-way softmax, like / dislike):

- **A**: the three images stacked on the channel axis (w x h x 9) -> one CNN -> FC -> softmax;
- **B**: one shared CNN per item -> the three features concatenated -> 3 FC -> softmax;
- **C**: one shared CNN per item -> per category pair (top-bottom, top-shoes, bottom-shoes) the two
  features concatenated -> that pair's matching network (3 FC + softmax) -> s = sum of the pairs.

All are trained on (liked outfit, random outfit) pairs with the rank loss of Eq. (1),
L = log(1 + exp(-(s+ - s-))). Stage one trains one general model on every user's outfits; stage
two fine-tunes it per user, either the matching network only ("partial") or everything ("whole").
A per-user model is stored as the *difference from the shared model*: only the parameters that
user's fine-tuning changed (``user_state``), never a full copy of the network.

On the ``standard`` profile the lower layers of the CNN are frozen and cached (EfficientNet-Lite0
up to its stride-16 block, global-average-pooled): "the CNN" is then the trainable layers on top
(``feature_head``), and A stacks the three items' cached vectors, which are 1 x 1 maps, on the
channel axis. The ``paper`` profile trains VGG-16 end to end on the images.

This module holds the networks and the loss; the configuration is in ``config``, the data in
``data``, the two-stage training in ``train`` and the ranking metrics in ``evaluate``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec import backbones
from fashionrec.fashionnet.config import ARCHS, PAIRS, Config

TRAINED = {"partial": ("matching",), "whole": ("features", "matching"), "direct": ("features", "matching"),
           "user-conditioned": ("matching", "film", "users")}  # what each regime changes (and stores)


# ----- the model ------------------------------------------------------------------------------
def mlp(sizes: list[int], dropout: float = 0.0, last_relu: bool = False) -> nn.Sequential:
    """Linear layers with ReLU (and dropout) between them: sizes = [in, hidden..., out]."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2 or last_relu:
            layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout else [nn.ReLU()]
    return nn.Sequential(*layers)


def like_probability(logits: Tensor) -> Tensor:
    """(..., 2) logits (dislike, like) -> (...,) softmax probability of "like", in float64.

    float32 rounds every probability above 1 - 6e-8 to exactly 1, which would tie the outfits a
    confident model likes most; float64 keeps them apart (and ranks them as the logits do).
    """
    return torch.softmax(logits.double(), dim=-1)[..., 1]


class FashionNet(nn.Module):
    """He & Hu 2018, Fig. 2: a feature network and a matching network; ``forward`` gives the score s.

    Args:
        arch: "A", "B" or "C".
        features: item inputs -> features. A: (B, 3 * C_in, ...) stacked outfit -> (B, D);
            B and C: (N, C_in, ...) one item -> (N, D).
        feature_dim: D.
        hidden: sizes of the matching network's hidden FC layers (B: 3 FC, C: 3 FC per pair).
        n_users, user_dim: C only; > 0 adds a learned user embedding e_u that scales and shifts the
            first hidden layer of every matching network (FiLM, Perez et al. 2018): the
            user-conditioned model, beyond the paper.
    """

    def __init__(self, arch: str, features: nn.Module, feature_dim: int, hidden: tuple[int, ...] = (64, 32),
                 dropout: float = 0.0, n_users: int = 0, user_dim: int = 0):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}")
        if n_users and arch != "C":
            raise ValueError("the user embedding feeds C's matching networks; use arch='C'")
        self.arch, self.features = arch, features
        self.feature_dim, self.hidden, self.dropout = feature_dim, tuple(hidden), dropout
        d = feature_dim
        if arch == "A":
            self.matching = nn.Linear(d, 2)  # "FC + softmax" after the CNN
        elif arch == "B":
            self.matching = mlp([3 * d, *hidden, 2], dropout)
        else:
            self.matching = nn.ModuleList([mlp([2 * d, *hidden, 2], dropout) for _ in PAIRS])
        self.users = nn.Embedding(n_users, user_dim) if n_users else None
        self.film = nn.ModuleList([nn.Linear(user_dim, 2 * hidden[0]) for _ in PAIRS]) if n_users else None
        if n_users:  # the user terms start at zero: the model starts as the general one
            nn.init.normal_(self.users.weight)
            for layer in self.film:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, items: Tensor, users: Tensor | None = None) -> Tensor:
        """(B, 3, *item_shape) items in (top, bottom, shoes) order -> (B,) score s.

        A and B: s(o) = P(like | o), the softmax of the whole outfit. C (Fig. 2c):
        s(o) = sum over (p, q) in {(t, b), (t, s), (b, s)} of P_pq(like | f(x_p), f(x_q)).
        """
        n = items.shape[0]
        if self.arch == "A":
            return like_probability(self.matching(self.features(items.flatten(1, 2))))  # stack channels
        x = self.features(items.flatten(0, 1)).view(n, 3, -1)  # (B, 3, D), one shared CNN
        if self.arch == "B":
            return like_probability(self.matching(x.flatten(1)))  # (B, 3D) -> 3 FC -> softmax
        scores = []
        for k, (m, (p, q)) in enumerate(zip(self.matching, PAIRS)):
            h = m[0](torch.cat([x[:, p], x[:, q]], dim=1))  # (B, hidden[0]), first FC of the pair's network
            if self.users is not None:
                scale, shift = self.film[k](self.users(users)).chunk(2, dim=1)  # (B, hidden[0]) each
                h = h * (1 + scale) + shift
            scores.append(like_probability(m[1:](h)))
        return sum(scores)  # s = sum of the pairs' like probabilities


def rank_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Eq. (1): L = log(1 + exp(-(s+ - s-))), averaged over (positive, negative) pairs."""
    return F.softplus(-(pos_scores - neg_scores)).mean()


class StackedChannels(nn.Module):
    """A's CNN on raw images: the backbone with its first conv widened to 3x the channels.

    (B, 9, H, W) -> (B, dim). Each item is normalised as the backbone expects before stacking; with
    pretrained weights the first conv's weights are tiled and divided by 3 (our choice: the paper
    does not say how it initialised the 9-channel layer).
    """

    def __init__(self, backbone: backbones.Backbone):
        super().__init__()
        self.backbone = backbone
        name, conv = next((n, m) for n, m in backbone.named_modules() if isinstance(m, nn.Conv2d))
        wide = nn.Conv2d(3 * conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         bias=conv.bias is not None)
        with torch.no_grad():
            wide.weight.copy_(conv.weight.repeat(1, 3, 1, 1) / 3)
            if conv.bias is not None:
                wide.bias.copy_(conv.bias)
        parent = backbone.get_submodule(name.rsplit(".", 1)[0]) if "." in name else backbone
        setattr(parent, name.rsplit(".", 1)[-1], wide)

    def forward(self, stacked: Tensor) -> Tensor:
        x = torch.cat([self.backbone.normalize(stacked[:, 3 * k:3 * k + 3]) for k in range(3)], 1)  # (B, 9, H, W)
        return self.backbone.pool(self.backbone._maps(x, ("last",))["last"])  # (B, dim)


def build_model(arch: str, cfg: Config, in_dim: int = 0, n_users: int = 0) -> FashionNet:
    """A FashionNet for ``cfg``: a head on cached features of size ``in_dim``, or a CNN on images."""
    if cfg.cached_features:
        c_in = 3 * in_dim if arch == "A" else in_dim
        features: nn.Module = MapHead(c_in, cfg.head_hidden, cfg.feature_dim, cfg.dropout)
    else:
        backbone = backbones.build_backbone(cfg.backbone, pretrained=cfg.pretrained)
        features = StackedChannels(backbone) if arch == "A" else backbone
        if backbone.dim != cfg.feature_dim:
            raise ValueError(f"{cfg.backbone} gives {backbone.dim}-d features; set feature_dim={backbone.dim}")
    return FashionNet(arch, features, cfg.feature_dim, cfg.hidden, cfg.dropout, n_users, cfg.user_dim)


def user_conditioned(general: FashionNet, n_users: int, user_dim: int) -> FashionNet:
    """A user-conditioned C initialised from a general (stage one) C: the FiLM layers start at zero,
    so before training it scores exactly as ``general`` does."""
    if general.arch != "C":
        raise ValueError("the user-conditioned model extends FashionNet C")
    model = FashionNet("C", copy.deepcopy(general.features), general.feature_dim, general.hidden,
                       general.dropout, n_users=n_users, user_dim=user_dim)
    model.load_state_dict(general.state_dict(), strict=False)  # all but the new user terms
    return model


def user_state(model: nn.Module, regime: str) -> dict[str, Tensor]:
    """The parameters a regime changes, copied to the CPU: what is stored per user."""
    parts = TRAINED[regime]
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k.split(".")[0] in parts}


def state_bytes(state: dict[str, Tensor]) -> int:
    return sum(v.numel() * v.element_size() for v in state.values())


class MapHead(nn.Module):
    """The trainable top of the CNN on cached maps: 1x1 conv -> ReLU -> global average pool -> FC -> ReLU.

    (N, C_in, h, w) -> (N, D). For A, C_in = 3 x C_mid: the items' maps stacked on the channel axis,
    so every position mixes the three items, as a CNN on 9-channel images does. The 1x1 convolution
    is a Linear layer over the channel axis (the same map, faster on a CPU).
    """

    def __init__(self, in_channels: int, hidden: int, out: int, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Linear(in_channels, hidden)  # 1x1 convolution
        self.fc = mlp([hidden, out], dropout, last_relu=True)

    def forward(self, maps: Tensor) -> Tensor:
        x = F.relu(self.conv(maps.movedim(1, -1)))  # (N, h, w, hidden)
        return self.fc(x.mean(dim=(1, 2)))  # (N, D)
