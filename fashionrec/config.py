"""Configuration: frozen dataclasses, named profiles, device selection and seeding.

Profiles (the design note, book/design.md): ``smoke`` = seconds on 2 CPU cores (CI), ``standard`` = what the book
shows (FashionWorld, minutes on a CPU), ``paper`` = a real dataset with the paper's
hyper-parameters (GPU hours).
"""

from __future__ import annotations

import os
import random
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from typing import Any, ClassVar, TypeVar

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


C = TypeVar("C", bound="ChapterConfig")


def world_profile(profile: str) -> str:
    """The FashionWorld size a profile uses: ``smoke`` -> smoke, ``standard`` and ``paper`` -> standard.

    The one place that maps profiles to world sizes (a ``paper`` run on FashionWorld, e.g. to test
    the paper's hyper-parameters on known data, uses the book's world).
    """
    return "smoke" if check_profile(profile) == "smoke" else "standard"


@dataclass(frozen=True)
class ChapterConfig:
    """The parameters every notebook has; each chapter's config extends it with its own fields.

    Build one with ``for_profile(profile, **overrides)``: the chapter's preset for the profile
    (class attribute ``PRESETS``), then the overrides that were actually given. An override of
    ``None`` means "not set", so a notebook's ``dataset = None`` keeps the profile's own dataset
    (the ``paper`` preset's real dataset is never replaced by a notebook default).
    """

    chapter: str = ""
    profile: str = "standard"
    dataset: str = "fashionworld"
    data_root: str = "data"
    device: str = "auto"  # "auto" = cuda when available
    seed: int = 0  # FashionWorld's seed and the data's; training seeds are ``seeds``
    seeds: tuple[int, ...] = (0,)  # one trained model per seed; claims are tested over them
    overridden: tuple[str, ...] = ()  # the fields set beyond the profile's preset (recorded with the run)

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}
    DATASETS: ClassVar[tuple[str, ...]] = ()  # the datasets the chapter reads; () = not checked
    # The explicit size overrides that let the ``paper`` profile run end to end on a CPU, on a
    # small export of its dataset (``fashionrec paper-path``): steps, image size, users. Never used
    # unless asked for; a run that uses them lists them in ``overridden``.
    PAPER_ON_CPU: ClassVar[dict[str, Any]] = {}

    def __post_init__(self) -> None:
        check_profile(self.profile)
        for f in fields(self):  # a list from the command line or papermill -> the field's tuple
            if isinstance(getattr(self, f.name), list) and isinstance(f.default, tuple):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        seeds = self.seeds
        if isinstance(seeds, int) or not all(isinstance(s, int) for s in seeds) or not seeds:
            raise ValueError(f"{type(self).__name__}.seeds must be a non-empty tuple of ints; got {seeds!r}")
        object.__setattr__(self, "seeds", tuple(seeds))
        if self.DATASETS and self.dataset not in self.DATASETS:
            raise ValueError(f"{type(self).__name__}.dataset must be one of {', '.join(self.DATASETS)}; "
                             f"got {self.dataset!r}")

    @classmethod
    def for_profile(cls: type[C], profile: str = "standard", **overrides: Any) -> C:
        """The chapter's preset for ``profile`` with the overrides that are not ``None``.

        ``seed=s`` without ``seeds`` shifts the preset's seeds to ``s, s + 1, ...`` (as many as the
        preset has). A nested config (``train``) may be given as a dict of the fields to change, e.g.
        ``train={"epochs": 1}``. Unknown names raise a ValueError that lists the known ones. The
        fields whose value differs from the preset's are listed in ``overridden``.
        """
        check_profile(profile)
        defaults = {f.name: f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
                    for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}
        given = {k: v for k, v in overrides.items() if v is not None and k != "overridden"}
        if unknown := sorted(set(given) - set(defaults)):
            raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(defaults))}")
        preset = {**defaults, **cls.PRESETS.get(profile, {})}
        for name, value in given.items():
            if isinstance(value, dict) and is_dataclass(preset[name]):
                nested = {f.name for f in fields(preset[name])}
                if unknown := sorted(set(value) - nested):
                    raise ValueError(f"{cls.__name__}.{name} has no field(s) {', '.join(unknown)}; "
                                     f"known: {', '.join(sorted(nested))}")
                given[name] = replace(preset[name], **value)
        values = {**cls.PRESETS.get(profile, {}), **given}
        if "seed" in given and "seeds" not in given:
            n = len(preset["seeds"])
            values["seeds"] = tuple(range(given["seed"], given["seed"] + n))
        changed = tuple(sorted(k for k, v in values.items() if k in given and v != preset[k]
                               and k != "chapter" and not (k == "seeds" and "seeds" not in given)))
        return cls(profile=profile, overridden=changed, **values)

    @property
    def on_world(self) -> bool:
        """True when the data is FashionWorld (figures and oracles that only a known world can give)."""
        return self.dataset == "fashionworld"


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
