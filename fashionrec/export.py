"""A FashionWorld written in a real dataset's on-disk layout: ``fashionrec export FORMAT --out DIR``.

The paper path of every chapter reads an official dataset layout (``fashionrec/datasets/``). To
prove that path end to end without the data, each format module writes a FashionWorld in its own
layout, beside the code that reads it: ``fashionrec.datasets.<module>.export(world, out, quirks)``.
The loader reading that export gives back the world's records (the round-trip tests), and every
chapter's ``paper`` profile runs on it (``fashionrec paper-path``).

The exports carry the real datasets' quirks that a loader must survive (``Quirks``): mixed image
sizes, a few missing images (counted by the loader, never silently dropped), and each format's own
(file names with spaces, DeepFashion's ``comsumer`` spelling, CRLF line ends).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# format name (= the chapters' dataset name) -> the module that reads and writes it
FORMATS: dict[str, str] = {
    "polyvore": "fashionrec.datasets.polyvore",  # Maryland Polyvore (Han et al. 2017), chapter 1
    "polyvore_outfits": "fashionrec.datasets.polyvore_outfits",  # Polyvore Outfits (Vasileva 2018), chapter 1
    "polyvore_u": "fashionrec.datasets.polyvore_u",  # Polyvore-U (He & Hu 2018), chapter 2
    "deepfashion_c2s": "fashionrec.datasets.deepfashion_c2s",  # DeepFashion consumer-to-shop, chapter 3
    "catalog": "fashionrec.datasets.catalog",  # a styles.csv product catalog, chapter 4
    "stl_fashion": "fashionrec.datasets.stl",  # Pinterest Shop-the-Look (Kang et al. 2019), chapter 5
}
# the sizes (width, height) real fashion images come in; an export writes some images at these
MIXED_SIZES: tuple[tuple[int, int], ...] = ((600, 600), (400, 400), (300, 400), (400, 300))
JPEG_QUALITY = 90  # the quality every export writes its JPEGs at


@dataclass(frozen=True)
class Quirks:
    """The real data's quirks an export reproduces (``none()`` for a clean export)."""

    missing_images: int = 2  # image files left out; the loader must count them
    mixed_sizes: float = 0.2  # share of images written at one of MIXED_SIZES (scaled by image_size/600)
    format_quirks: bool = True  # each format's own: spaces in names, "comsumer", CRLF, ...
    seed: int = 0

    @staticmethod
    def none() -> "Quirks":
        return Quirks(missing_images=0, mixed_sizes=0.0, format_quirks=False)


@dataclass
class Exported:
    """What an export wrote: its root, counts of records by kind, and the images left out on purpose."""

    format: str
    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # paths (relative to root) deliberately not written
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        text = f"{self.format} export at {self.root}: {counts}; {len(self.missing)} image(s) left out on purpose"
        return "\n".join([text, *self.notes])


class ImageWriter:
    """Writes JPEGs like the originals': quality 90, some at the real data's mixed sizes, some left out.

    ``write(rel_path, image)`` returns False for the images chosen to be missing (recorded in
    ``missing``); choose them by calling ``choose_missing(rel_paths)`` first, or none are missing.
    """

    def __init__(self, root: Path, quirks: Quirks, image_size: int):
        self.root, self.quirks, self.image_size = Path(root), quirks, image_size
        self.rng = np.random.default_rng(quirks.seed)
        self.left_out: set[str] = set()
        self.missing: list[str] = []

    def choose_missing(self, rel_paths: list[str]) -> set[str]:
        """Pick ``quirks.missing_images`` of these paths to leave out (deterministic in the seed)."""
        n = min(self.quirks.missing_images, len(rel_paths))
        picks = self.rng.choice(len(rel_paths), size=n, replace=False) if n else []
        self.left_out = {rel_paths[int(k)] for k in picks}
        return self.left_out

    def write(self, rel_path: str, image: np.ndarray, quality: int = JPEG_QUALITY) -> bool:
        """Write ``image`` (H, W, 3) uint8 as JPEG at ``root / rel_path``; False if it is left out."""
        from PIL import Image

        if rel_path in self.left_out:
            self.missing.append(rel_path)
            return False
        pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
        if self.quirks.mixed_sizes and self.rng.random() < self.quirks.mixed_sizes:
            w, h = MIXED_SIZES[int(self.rng.integers(len(MIXED_SIZES)))]
            scale = self.image_size / 600
            pil = pil.resize((max(8, round(w * scale)), max(8, round(h * scale))), Image.BILINEAR)
        path = self.root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        pil.save(path, format="JPEG", quality=quality)
        return True


def export(fmt: str, out: Path | str, profile: str = "smoke", seed: int = 0, image_size: int = 128,
           quirks: Quirks | None = None) -> Exported:
    """Write the FashionWorld of ``profile`` / ``seed`` in format ``fmt`` under ``out``."""
    from fashionrec.config import world_profile
    from fashionrec.world.world import World, WorldConfig

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    world = World.build(WorldConfig.for_profile(world_profile(profile), seed=seed))
    module = importlib.import_module(FORMATS[fmt])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return module.export(world, out, quirks if quirks is not None else Quirks(seed=seed), image_size=image_size)
