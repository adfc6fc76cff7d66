"""Chapter 3's configuration: every knob of consumer-to-shop retrieval and its smoke / standard / paper presets."""

from __future__ import annotations

from dataclasses import dataclass, field

from fashionrec.config import ChapterConfig, TrainConfig

CATEGORIES = ("dresses", "skirts", "tops", "bottoms")  # the paper's four retrieval categories
PAPER_BACKBONES = ("vgg16", "vgg19", "inception_v3", "resnet50")
DISTANCES = ("l1", "l2", "cosine")


@dataclass(frozen=True)
class Config(ChapterConfig):
    """Every knob of chapter 3; ``Config.for_profile(profile)`` gives the smoke / standard / paper presets.

    ``seeds``: one Siamese network per seed (the data and FashionWorld use ``seed``).
    """

    chapter: str = "c2s"
    seeds: tuple[int, ...] = (0, 1, 2)
    image_size: int = 64  # side of the rendered (FashionWorld) or cropped (DeepFashion) images
    cnn_size: int = 96  # images are resized to this before the CNN
    backbone: str = "efficientnet_lite0"  # the features the Siamese network learns on
    pretrained: bool = True
    compare_backbones: tuple[str, ...] = ()  # more pretrained CNNs for the kNN table (paper profile)
    train_photos_per_item: int = 2
    test_photos_per_item: int = 2
    max_photos: int | None = None  # DeepFashion: at most this many consumer photos per split (memory)
    hidden: int = 512  # Siamese tower: in_dim -> hidden -> embed_dim
    embed_dim: int = 128
    dropout: float = 0.2
    n_lookalike: int = 2  # hard negatives (same sub-category) per consumer photo and step
    n_random: int = 2  # random negatives of the same category per consumer photo and step
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=8, batch_size=64, lr=1e-3, weight_decay=1e-4, patience=3))
    max_k: int = 50
    headline_k: int = 20
    tsne_points: int = 300

    DATASETS = ("fashionworld", "deepfashion_c2s")
    PRESETS = {  # smoke = seconds (CI), standard = the book (FashionWorld), paper = GPU hours
        "smoke": dict(cnn_size=64, seeds=(0,), tsne_points=80,
                      train=TrainConfig(epochs=2, batch_size=64, lr=1e-3, weight_decay=1e-4)),
        "standard": {},
        "paper": dict(dataset="deepfashion_c2s", data_root="data/deepfashion", image_size=224, cnn_size=224,
                      backbone="resnet50", compare_backbones=PAPER_BACKBONES, max_photos=20_000, hidden=1024,
                      embed_dim=256, n_random=4,
                      train=TrainConfig(epochs=30, batch_size=256, lr=3e-4, weight_decay=1e-4)),
    }
    # the paper profile on 2 CPU cores on a smoke export (``fashionrec paper-path 03``): random
    # weights (no ImageNet files offline), 64 px crops resized to 80 px (Inception-v3 needs 75),
    # one Siamese seed (a list: papermill passes tuples as strings) and 3 epochs; the four backbones,
    # the tower and the optimiser stay the paper's
    PAPER_ON_CPU = dict(pretrained=False, image_size=64, cnn_size=80, seeds=[0], train={"epochs": 3})
