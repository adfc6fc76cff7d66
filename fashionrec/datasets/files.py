"""File helpers shared by the real-data loaders: JSON with errors that name the file, Polyvore
Outfits' ``categories.csv``, and product images fitted into a square."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np


def read_json(path: Path, expected: str):
    """Parse ``path``; a missing file or bad JSON raises, naming the file and what was ``expected``."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found — expected {expected} (layout: data/README.md)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}) — expected {expected}") from None


def load_image(path: str | Path, size: int) -> np.ndarray:
    """One product image as uint8 (size, size, 3): fitted inside the square, padded with white."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((size, size), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
        return np.asarray(canvas, dtype=np.uint8)


def read_categories(path: Path) -> dict[str, tuple[str, str]]:
    """``categories.csv`` (CRLF, no header): category_id -> (fine-grained, semantic).

    Real quirks handled: an id can repeat with other fine-grained names (the first row is kept),
    semantic names carry trailing spaces, and the last row has no line end."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found — expected rows 'category_id,fine-grained,semantic'")
    rows = {}
    for n, row in enumerate(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")), 1):
        if not row:
            continue
        if len(row) != 3:
            raise ValueError(f"{path}:{n}: expected 3 fields 'category_id,fine-grained,semantic', got {row}")
        rows.setdefault(row[0].strip(), (row[1].strip(), row[2].strip()))
    return rows
