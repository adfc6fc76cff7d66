"""Chapter 2's configuration: every knob of FashionNet A / B / C and its smoke / standard / paper presets."""

from __future__ import annotations

from dataclasses import dataclass

from fashionrec.config import ChapterConfig, TrainConfig

ARCHS = ("A", "B", "C")
SLOTS = ("top", "bottom", "shoes")
PAIRS = ((0, 1), (0, 2), (1, 2))  # C's category pairs: top-bottom, top-shoes, bottom-shoes
REGIMES = ("initial", "stage one", "partial", "whole", "direct")  # the rows of the paper's table
STAGE_TWO = ("partial", "whole", "direct")  # the per-user regimes (A has no "partial")


@dataclass(frozen=True)
class Config(ChapterConfig):
    """Every knob of chapter 2; ``Config.for_profile(profile)`` gives the smoke / standard / paper presets.

    ``seeds``: one model per architecture, regime and seed (FashionWorld and the test lists use ``seed``).
    """

    chapter: str = "fashionnet"
    seeds: tuple[int, ...] = (0, 1, 2)
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    cached_features: bool = True  # frozen, cached lower CNN layers (+ a trainable head); False = train the CNN
    image_size: int = 64
    grid: int = 1  # cached mid-level maps pooled to grid x grid (1 = one vector per item)
    feature_dim: int = 64  # D: one item's feature (B, C); A's outfit feature
    head_hidden: int = 128  # hidden units of the trainable feature head on cached features
    hidden: tuple[int, int] = (64, 32)  # the matching network's two hidden FC layers
    dropout: float = 0.0
    train_negatives: int = 6  # random negatives per liked outfit (He & Hu: 6x)
    user_dim: int = 8  # user embedding of the user-conditioned model (beyond the paper)
    max_users: int | None = None  # first n users only (None = all)
    max_steps: int | None = None  # at most this many batches per epoch (None = all; a CPU size override)
    scaling_users: tuple[int, ...] = (10, 20, 40)
    top_k: int = 10
    discount: str = "fashionnet"  # NDCG discount 1 / log2(max(2, i)), as the paper (fashionrec.metrics)
    stage_one: TrainConfig = TrainConfig(epochs=10, batch_size=128, lr=3e-3, patience=4, amp=False)
    stage_two: TrainConfig = TrainConfig(epochs=8, batch_size=64, lr=1e-3, patience=3, amp=False)
    conditioned: TrainConfig = TrainConfig(epochs=10, batch_size=128, lr=1e-3, patience=4, amp=False)

    DATASETS = ("fashionworld", "polyvore_u")
    PRESETS = {  # smoke = seconds (CI); standard = the book (FashionWorld, CPU minutes); paper = Polyvore-U, GPU
        "smoke": dict(seeds=(0,), scaling_users=(3, 6),
                      stage_one=TrainConfig(epochs=2, batch_size=128, amp=False),
                      stage_two=TrainConfig(epochs=2, batch_size=64, amp=False),
                      conditioned=TrainConfig(epochs=2, batch_size=128, amp=False)),
        "standard": {},
        "paper": dict(dataset="polyvore_u", data_root="data/polyvore_u", seeds=(0,), backbone="vgg16",
                      cached_features=False, image_size=224, feature_dim=4096, hidden=(1024, 512),
                      dropout=0.5, scaling_users=(100, 200, 400, 800), max_users=800,
                      stage_one=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-3,
                                            schedule="step", step_epochs=6, step_gamma=0.1),
                      stage_two=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-4),
                      conditioned=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-3)),
    }

    # the paper profile on 2 CPU cores (``fashionrec paper-path 02``): VGG-16 with random weights at
    # 32 px, one epoch of one batch per training, the first user only; the architecture and the
    # hyper-parameters (batch 30, SGD, 6 negatives per liked outfit) stay the paper's
    PAPER_ON_CPU = {"pretrained": False, "image_size": 32, "max_users": 1, "max_steps": 1,
                    "stage_one": {"epochs": 1}, "stage_two": {"epochs": 1}, "conditioned": {"epochs": 1}}

    def __post_init__(self) -> None:
        super().__post_init__()
