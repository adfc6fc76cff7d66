"""``fashionrec check FORMAT DATA_ROOT``: read a dataset with its loader, decode every image it names
once, and report what is missing or corrupt, with the loader's warnings, so a user learns it in
minutes rather than mid-training.

The report (:class:`CheckReport`, written as JSON) lists the loader's error if it could not read the
text files (the message names the file and line), its warnings (unknown categories, split leaks,
missing images), the images missing on disk and the corrupt ones, each with the reason
``fashionrec.images.read_rgb`` gave. Missing images are what the datasets' protocols skip (the
loaders count them); a loader error or a corrupt image fails the check.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path


def _polyvore(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.polyvore import load_polyvore

    data = load_polyvore(root)
    return data.summary(), [Path(it.image) for it in data.items.values()]


def _polyvore_outfits(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.polyvore_outfits import load_polyvore_outfits

    data = load_polyvore_outfits(root)
    return data.summary(), [Path(it.image) for it in data.items.values()]


def _polyvore_u(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.polyvore_u import IMAGE_DIR, PolyvoreU

    data = PolyvoreU.load(root)
    paths = []
    for item in data.used_items():
        category, index = item.split("/")
        paths.append(root / IMAGE_DIR / data.image_lists[category][int(index)])
    return data.summary(), paths


def _deepfashion_c2s(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.deepfashion_c2s import load_deepfashion_c2s

    data = load_deepfashion_c2s(root)
    photos = [p for split in (data.consumer, data.shop) for ps in split.values() for p in ps]
    return data.summary(), [Path(p.image) for p in photos] + [root / name for name in data.missing]


def _catalog(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.catalog import load_catalog

    data = load_catalog(root)
    return data.summary(), [Path(it.image) for it in data.items]


def _stl_fashion(root: Path) -> tuple[str, list[Path]]:
    from fashionrec.datasets.stl import load_stl_fashion, signature_path

    data = load_stl_fashion(root)
    paths = [Path(it.image) for it in data.items.values()] + [Path(s.image) for s in data.scenes.values()]
    return data.summary(), paths + [root / signature_path(sig) for sig in data.missing_signatures]


# format name (as ``fashionrec export``) -> loader returning (its summary, every image path it names)
LOADERS: dict[str, Callable[[Path], tuple[str, list[Path]]]] = {
    "polyvore": _polyvore, "polyvore_outfits": _polyvore_outfits, "polyvore_u": _polyvore_u,
    "deepfashion_c2s": _deepfashion_c2s, "catalog": _catalog, "stl_fashion": _stl_fashion,
}


@dataclass
class CheckReport:
    """What ``check`` found under ``root``: the loader's error or summary and warnings, and the images."""

    format: str
    root: str
    error: str | None = None  # the loader's error ("ValueError: <file>:<line>: ..."), if it failed
    summary: str = ""
    warnings: list[str] = field(default_factory=list)
    images: int = 0  # distinct image files named by the data
    missing: list[str] = field(default_factory=list)  # named but not on disk
    corrupt: dict[str, str] = field(default_factory=dict)  # path -> why it cannot be decoded

    @property
    def ok(self) -> bool:
        """No loader error and no corrupt image (missing images are counted, as the loaders do)."""
        return self.error is None and not self.corrupt

    def text(self) -> str:
        """A few lines for the terminal."""
        if self.error is not None:
            return f"{self.format} at {self.root}: FAILED to load — {self.error}"
        lines = [self.summary, f"images: {self.images} named, {len(self.missing)} missing, "
                               f"{len(self.corrupt)} corrupt"]
        lines += [f"  missing: {p}" for p in self.missing[:5]] + (["  ..."] if len(self.missing) > 5 else [])
        lines += [f"  corrupt: {why}" for why in list(self.corrupt.values())[:5]]
        lines += ["  ..."] if len(self.corrupt) > 5 else []
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines + [("OK" if self.ok else "FAILED") + f": {self.format} at {self.root}"])


def _decode(path: Path) -> str | None:
    """None when the image decodes; else why not (the message names the file)."""
    from fashionrec.images import ImageError, read_rgb

    try:
        read_rgb(path)
    except FileNotFoundError:
        return "missing"
    except (ImageError, OSError) as err:
        return str(err)
    return None


def check(fmt: str, root: str | Path, report: str | Path | None = None, workers: int | None = None,
          progress: bool = True) -> CheckReport:
    """Load ``root`` as ``fmt`` and decode each image it names once; write the report to ``report``.

    Args:
        fmt: a format of :data:`LOADERS` (the names of ``fashionrec export``).
        root: the dataset folder.
        report: where to write the report as JSON (not written when None).
        workers: threads decoding images (PIL decodes outside the GIL); default up to 4.
        progress: show a tqdm bar.
    """
    from tqdm.auto import tqdm

    if fmt not in LOADERS:
        raise ValueError(f"unknown dataset format {fmt!r}; expected one of {', '.join(LOADERS)}")
    root = Path(root)
    result = CheckReport(fmt, str(root))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result.summary, paths = LOADERS[fmt](root)
        except Exception as err:  # the report says what failed; the CLI exits 1
            result.error, paths = f"{type(err).__name__}: {err}", []
    result.warnings = list(dict.fromkeys(str(w.message) for w in caught))
    paths = list(dict.fromkeys(paths))
    result.images = len(paths)
    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        outcomes = tqdm(pool.map(_decode, paths), total=len(paths), desc=f"check {fmt} images",
                        disable=not progress or not paths)
        for path, why in zip(paths, outcomes):
            if why == "missing":
                result.missing.append(str(path))
            elif why is not None:
                result.corrupt[str(path)] = why
    if report is not None:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(asdict(result) | {"ok": result.ok}, indent=2) + "\n", encoding="utf-8")
    return result


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``check`` subcommand of ``fashionrec``."""
    cmd = sub.add_parser("check", help="load a dataset, decode every image once, report what is missing or corrupt")
    cmd.add_argument("format", choices=sorted(LOADERS), help="the dataset's format (as fashionrec export)")
    cmd.add_argument("data_root", type=Path, help="the dataset folder")
    cmd.add_argument("--report", type=Path, help="JSON report file (default: check-<format>.json here)")
    cmd.add_argument("--workers", type=int, default=None, help="image-decoding threads (default: up to 4)")


def main(args: argparse.Namespace) -> int:
    """Run ``fashionrec check``: 0 when the data load and every present image decodes, else 1."""
    report = args.report or Path(f"check-{args.format}.json")
    result = check(args.format, args.data_root, report, args.workers)
    print(result.text())
    print(f"report: {report}")
    return 0 if result.ok else 1
