"""Chapter 4's knobs and its smoke / standard / paper presets (Sadeh et al. 2019)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from fashionrec.config import ChapterConfig, TrainConfig


@dataclass(frozen=True)
class Config(ChapterConfig):
    """Every knob of chapter 4; ``Config.for_profile(profile, **overrides)`` gives the presets.

    ``paper`` reads a real product catalog (``dataset="catalog"``, data/README.md: Kaggle "Fashion
    Product Images" or Polyvore Outfits metadata) and fine-tunes a ResNet-18 on a GPU.
    """

    chapter: str = "joint_embedding"
    # images and text
    image_size: int = 64
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    finetune: bool = False  # train the CNN too (paper); False = cached frozen features
    min_count: int = 5  # drop words seen fewer times (Sec. 3.3; the paper: 500 on 0.5 M items)
    # model and losses
    dim: int = 512
    tau: float = 0.1  # MBMR temperature (Eq. 2-3)
    margin: float = 0.2  # triplet margin (the comparison)
    attr_weight: float = 1.0  # lambda in L = L_match + lambda * L_a
    w2v_steps: int = 300
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=15, batch_size=128, lr=1e-3))
    seeds: tuple[int, ...] = (0, 1, 2)
    # the visual-only model that judges V-nDCG (trained on street photos of the same item)
    photos_per_item: int = 1
    judge_dim: int = 256
    judge_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10, batch_size=128, lr=1e-3))
    # evaluation and scale
    n_queries: int = 300
    k: int = 10  # nDCG@k
    weight_grid: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)  # text weights tried on the valid queries
    scale_n: int = 50_000  # catalog size of the in-notebook ANN demo (the 1.5 M run is a benchmark)

    DATASETS: ClassVar[tuple[str, ...]] = ("fashionworld", "catalog")
    # the paper profile on 2 CPU cores, on a smoke export (800 items): random weights, small images,
    # one epoch each; min_count scales with the catalog (the paper's 500 of 0.5 M texts is 0.1 %: no
    # word of 560 training texts passes 500), and the query and ANN-demo sizes with the test catalog
    PAPER_ON_CPU: ClassVar[dict[str, Any]] = {
        "pretrained": False, "image_size": 32, "min_count": 5, "train": {"epochs": 1},
        "judge_train": {"epochs": 1}, "n_queries": 150, "scale_n": 5_000}
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(dim=64, w2v_steps=100, seeds=(0,), train=TrainConfig(epochs=3, batch_size=64, lr=2e-3),
                      judge_train=TrainConfig(epochs=2, batch_size=64, lr=1e-3), n_queries=45, scale_n=5_000),
        "standard": {},
        "paper": dict(dataset="catalog", data_root="data/fashion-product-images", image_size=224,
                      backbone="resnet18", finetune=True, min_count=500,
                      train=TrainConfig(epochs=20, batch_size=128, lr=1e-4), seeds=(0,),
                      judge_train=TrainConfig(epochs=10, batch_size=128, lr=1e-4), photos_per_item=2,
                      n_queries=1000, scale_n=200_000),
    }
