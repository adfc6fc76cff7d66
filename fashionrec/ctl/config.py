"""Every knob of chapter 5 (Complete the Look, Kang et al. 2019) and its smoke / standard / paper presets."""

from __future__ import annotations

from dataclasses import dataclass, field

from fashionrec.config import ChapterConfig, TrainConfig


@dataclass(frozen=True)
class Config(ChapterConfig):
    """Chapter 5's config: ``Config.for_profile(profile, **overrides)``.

    smoke = seconds on 2 CPU cores; standard = the book (FashionWorld); paper = STL-Fashion with a
    frozen ResNet-50 (block 3 for regions, block 4 for the global vector, 224 px images, same-category
    negatives), as far as our sources say what the paper did; the head's sizes, the margin and the
    optimiser settings are our choices. ``standard`` adds the pooled early and mid maps to the global
    vector (EfficientNet-Lite0's last level hardly keeps the colours of garments a few pixels wide) and
    standardises the cached features with training statistics.
    """

    chapter: str = "ctl"
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True  # EfficientNet-Lite0's ImageNet weights ship with its pip package
    scene_size: int = 128  # scenes are rendered / resized to this side (128 px: an 8 x 8 region map)
    product_size: int = 64
    global_levels: tuple[str, ...] = ("early", "mid", "last")  # pooled levels concatenated into the global vector
    region_level: str = "mid"  # the map whose cells are the regions f_i
    standardize: bool = True  # per-dimension standardisation of the cached features (training statistics)
    # scenes per split, train / valid / test (None = all); each gives one triplet per product (about 4.7)
    n_scenes: tuple[int | None, int | None, int | None] = (900, 130, 260)
    stl_split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # STL-Fashion ships no split: scenes by hash
    train_negatives: int = 8  # same-category negatives per training scene, drawn once
    n_negatives: int = 49  # sampled negatives per test scene for the hit rate (chance k / 50)
    embed_dim: int = 128
    hidden: int = 128
    dropout: float = 0.5
    margin: float = 0.2
    seeds: tuple[int, ...] = (0, 1, 2)  # one model per seed (the data depend on ``seed`` only)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=128, lr=1e-3,
                                                                   weight_decay=1e-3, schedule="cosine"))

    DATASETS = ("fashionworld", "stl_fashion")
    PRESETS = {
        "smoke": dict(scene_size=64, n_scenes=(420, 60, 120), n_negatives=19, seeds=(0,), dropout=0.1,
                      train=TrainConfig(epochs=6, batch_size=64, lr=1e-3, weight_decay=1e-4,
                                        schedule="cosine")),
        "standard": {},
        "paper": dict(dataset="stl_fashion", data_root="data/stl-fashion", backbone="resnet50",
                      scene_size=224, product_size=224, n_scenes=(None, None, None), global_levels=("last",),
                      standardize=False, n_negatives=49, seeds=(0,), hidden=512, dropout=0.0,
                      train=TrainConfig(epochs=20, batch_size=128, lr=1e-4)),
    }
    # ``fashionrec paper-path 05`` on a smoke export (600 scenes, about 2,800 pairs): ResNet-50 with random
    # weights, 64 px scenes (a 4 x 4 region map) and 32 px products, 150 scenes (about 700 triplets),
    # 2 epochs; architecture, margin, optimiser and negatives stay the paper's.
    PAPER_ON_CPU = dict(pretrained=False, scene_size=64, product_size=32, n_scenes=[100, 25, 25],
                        train={"epochs": 2})
