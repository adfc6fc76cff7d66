"""Configuration: frozen dataclasses, named profiles, device selection and seeding.

Profiles (DESIGN.md): ``smoke`` = seconds on 2 CPU cores (CI), ``standard`` = what the book
shows (FashionWorld, minutes on a CPU), ``paper`` = a real dataset with the paper's
hyper-parameters (GPU hours).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

PROFILES: tuple[str, ...] = ("smoke", "standard", "paper")


@dataclass(frozen=True)
class TrainConfig:
    """Everything the shared fit loop (``fashionrec.train.fit``) needs."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" | "adamw" | "sgd"
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    schedule: str = "none"  # "none" | "step" | "cosine"
    step_epochs: int = 2  # "step": multiply lr by step_gamma every step_epochs epochs
    step_gamma: float = 0.5
    grad_clip: float | None = 5.0
    amp: bool = True  # used on CUDA only
    patience: int | None = None  # early stopping on the validation metric; None = off
    num_workers: int = 0


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise a ValueError that lists the known ones."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return profile


def select_device(device: str = "auto") -> torch.device:
    """``auto`` = cuda when available, else cpu; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} was asked for but CUDA is not available here")
    return dev


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels.

    Returns a ``torch.Generator`` seeded with ``seed`` to hand to every DataLoader.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class RunConfig:
    """The parameters every notebook has; chapters extend it with their own fields."""

    chapter: str
    profile: str = "standard"
    dataset: str = "fashionworld"
    data_root: str = "data"
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        check_profile(self.profile)


@dataclass(frozen=True)
class Chapter:
    """One chapter of the book: a paper, its notebook and what it measures."""

    number: int
    key: str  # notebook stem after the number, e.g. "bilstm" for notebooks/01_bilstm.py
    paper: str
    task: str
    metrics: str


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "bilstm", "Han et al. 2017, Learning Fashion Compatibility with Bidirectional LSTMs",
            "fill in the blank, outfit compatibility, outfit generation", "FITB accuracy, compatibility AUC"),
    Chapter(2, "fashionnet", "He & Hu 2018, FashionNet: Personalized Outfit Recommendation",
            "personalised outfit ranking, two-stage training", "mean NDCG, NDCG@m, positives in top k, AUC"),
    Chapter(3, "c2s", "Menezes & Kanitkar 2018, Consumer-to-shop retrieval (CS231n)",
            "street photo -> shop item", "top-k accuracy per category (k = 20 headline)"),
    Chapter(4, "joint_embedding", "Sadeh et al. 2019, Joint Visual-Textual Embedding for Multimodal Style Search",
            "image + wanted / unwanted words -> catalog items", "V-nDCG, T-nDCG, MM-nDCG"),
    Chapter(5, "ctl", "Kang et al. 2019, Complete the Look",
            "scene + product -> compatibility", "binary accuracy, AUC, top-k hit rate"),
)
