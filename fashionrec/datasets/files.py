"""File helpers shared by the real-data loaders: UTF-8 text and JSON with errors that name the file
(and the byte, or the line and column), Polyvore Outfits' ``categories.csv``, and product images
fitted into a square."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np


BOM = b"\xef\xbb\xbf"  # the UTF-8 byte-order mark some editors write first


def read_text(path: Path, expected: str) -> str:
    """The UTF-8 text of ``path`` with a leading BOM stripped and line ends kept as written.

    Every loader reads its text files through here: a missing file, or one that is not UTF-8
    (UTF-16, Latin-1), raises naming the file, the byte offset and the encoding expected."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found — expected {expected} (layout: data/README.md)")
    raw = path.read_bytes()
    skip = len(BOM) if raw.startswith(BOM) else 0
    raw = raw[skip:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        offset = err.start + skip
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff") or raw[:200].count(b"\x00") > len(raw[:200]) // 4
        guess = "UTF-16" if utf16 else "Latin-1 / Windows-1252"
        raise ValueError(f"{path}: not UTF-8 text (byte {offset}: 0x{raw[err.start]:02x}; it looks like {guess}) — "
                         f"expected UTF-8 {expected}; re-encode it, e.g. iconv -f {guess.split()[0]} -t UTF-8") from None


def parse_json(text: str, where: str, expected: str):
    """``json.loads`` whose error names ``where`` (a file, or a file and line) with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON at line {err.lineno}, column {err.colno} ({err.msg}) — "
                         f"expected {expected}") from None


def read_json(path: Path, expected: str):
    """Parse ``path``; a missing file, non-UTF-8 text or bad JSON raises, naming the file (and line,
    column) and what was ``expected``."""
    return parse_json(read_text(path, expected), str(path), expected)


def check_outfit(path: Path, k: int, set_id: str, keys: list[str], seen: dict[str, str]) -> None:
    """The checks every Polyvore outfit passes (Maryland and Polyvore Outfits): its ``set_id`` is used once
    across the splits (``seen``: set_id -> where it first was; updated), it has items, and no index twice
    (``keys``: its ``<set_id>_<index>`` ids). A failure is a ValueError naming the file and the outfit."""
    if set_id in seen:
        raise ValueError(f"{path}: outfit {k} repeats set_id {set_id} of {seen[set_id]} — set ids are unique "
                         f"across the splits (ids <set_id>_<index> would collide; a split leak)")
    seen[set_id] = f"{path.name} outfit {k}"
    if not keys:
        raise ValueError(f"{path}: outfit {k} (set_id {set_id}) has no items — expected at least one")
    if len(set(keys)) < len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"{path}: outfit {k} (set_id {set_id}) lists index {twice.rsplit('_', 1)[1]} twice")


def line_of(text: str, needle: str) -> int:
    """1-based line of the first ``needle`` in ``text`` (0 when absent): points an error into a JSON file."""
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def load_image(path: str | Path, size: int) -> np.ndarray:
    """One product image as uint8 (size, size, 3): fitted inside the square, padded with white.
    Decoded by :func:`fashionrec.images.read_rgb` (a bad file is an ``ImageError`` naming it)."""
    from PIL import Image

    from fashionrec.images import read_rgb

    img = Image.fromarray(read_rgb(path))
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    return np.asarray(canvas, dtype=np.uint8)


def read_categories(path: Path) -> dict[str, tuple[str, str]]:
    """``categories.csv`` (CRLF, no header): category_id -> (fine-grained, semantic).

    Real quirks handled: an id can repeat with other fine-grained names (the first row is kept),
    semantic names carry trailing spaces, and the last row has no line end."""
    text = read_text(path, "rows 'category_id,fine-grained,semantic'")
    rows = {}
    for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        if not row:
            continue
        if len(row) != 3:
            raise ValueError(f"{path}:{n}: expected 3 fields 'category_id,fine-grained,semantic', got {row}")
        rows.setdefault(row[0].strip(), (row[1].strip(), row[2].strip()))
    return rows
