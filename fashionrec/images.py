"""The one image reader of the project, for the loaders and the REST service: bytes or a file ->
uint8 (H, W, 3) RGB, decoded safely and correctly.

- The format is identified first (PIL's own signature checks), and only the formats below are
  decoded: anything else is :class:`NotAnImage`.
- The size is bounded from the header, before any pixel is allocated: width x height, or the
  max-side square for a caller that pads to one (``square=True``); PIL's decompression-bomb guard
  ends in :class:`ImageTooLarge` too.
- Truncated or corrupt data is an :class:`ImageError` that names the file, not PIL's bare ``OSError``.
- Transparency is composited on white (the shop-image convention), 16-bit grey is scaled to 8 bit,
  palette, CMYK and grey images are converted to RGB, and the EXIF orientation is applied.

Ordinary 8-bit RGB and grey JPEG / PNG give exactly ``np.asarray(Image.open(f).convert("RGB"))``.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")  # a camera JPEG with previews opens as JPEG (MPO)
EXPECTED = "a JPEG, PNG, WebP, GIF or BMP file"
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error, zlib.error)


class ImageError(ValueError):
    """An image that cannot be used. The message is ``"{name}: {problem}"``: the file (or upload),
    then what is wrong and what was expected (``corrupt image: ...``, ``image too large: ...``,
    ``not an image: ...``)."""


class ImageTooLarge(ImageError):
    """More pixels than allowed (checked from the header, before decoding)."""


class NotAnImage(ImageError):
    """Empty, or not in one of :data:`FORMATS`."""


def square_pixels(width: int, height: int) -> int:
    """Pixels of the max-side square an image of ``width`` x ``height`` is padded to."""
    return max(width, height) ** 2


def _identify(head: bytes, name: str) -> str:
    """The format of a file starting with ``head`` by PIL's signature checks, or :class:`NotAnImage`."""
    if not head:
        raise NotAnImage(f"{name}: not an image: the file is empty — expected {EXPECTED}")
    Image.init()
    for fmt in FORMATS:
        accept = Image.OPEN[fmt][1]
        if accept is not None and accept(head) is True:
            return fmt
    for fmt, (_, accept) in Image.OPEN.items():  # a known format the project does not read
        if accept is not None and accept(head) is True:
            raise NotAnImage(f"{name}: not an image the project reads: {fmt} — expected {EXPECTED}")
    raise NotAnImage(f"{name}: not an image: expected {EXPECTED}")


def _open(fp: BinaryIO, name: str, max_pixels: int, square: bool) -> Image.Image:
    """Open ``fp`` (header only) and check the size; the pixels are not decoded yet."""
    fmt = _identify(fp.read(16), name)
    fp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fp, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        count = pixels[1] if pixels else "too many"
        raise ImageTooLarge(f"{name}: image too large: decompression bomb refused ({count} pixels), "
                            f"over the limit of {min(max_pixels, Image.MAX_IMAGE_PIXELS)}") from None
    except _DECODE_ERRORS as err:
        raise ImageError(f"{name}: corrupt image: the {fmt} header cannot be read ({err}) — re-download or "
                         f"re-encode the file") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(f"{name}: image too large: {width}x{height} pixels ({width * height}), "
                            f"over the limit of {max_pixels}")
    if square and square_pixels(width, height) > max_pixels:
        side = max(width, height)
        raise ImageTooLarge(f"{name}: image too large: {width}x{height} pixels pads to a {side}x{side} square "
                            f"({square_pixels(width, height)} pixels), over the limit of {max_pixels}")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with transparency composited on white and 16-bit grey scaled to 8 bit."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit grey (PIL gives "I" for some PNGs)
        grey = np.asarray(image).astype(np.float64).clip(0, 65535) / 257  # 65535 -> 255
        image = Image.fromarray(np.rint(grey).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_rgb(data: bytes, *, name: str = "upload", max_pixels: int = MAX_PIXELS,
               square: bool = False) -> np.ndarray:
    """Image bytes -> uint8 (H, W, 3) RGB.

    Args:
        data: the file's bytes.
        name: what the error messages call it (a path, or ``upload``).
        max_pixels: the most pixels allowed, checked from the header before decoding.
        square: the caller pads the image to its max-side square: bound that square instead.

    Raises:
        NotAnImage: empty, or not one of :data:`FORMATS`.
        ImageTooLarge: over ``max_pixels`` (or a decompression bomb).
        ImageError: truncated or corrupt data.
    """
    image = _open(io.BytesIO(data), name, max_pixels, square)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        return np.asarray(_to_rgb(image), dtype=np.uint8)
    except _DECODE_ERRORS as err:
        raise ImageError(f"{name}: corrupt image: the {image.format} data cannot be decoded ({err}) — "
                         f"re-download or re-encode the file") from None


def read_rgb(path: str | Path, *, max_pixels: int = MAX_PIXELS, square: bool = False) -> np.ndarray:
    """:func:`decode_rgb` of a file; errors name ``path`` (a missing file is ``FileNotFoundError``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image not found")
    return decode_rgb(path.read_bytes(), name=str(path), max_pixels=max_pixels, square=square)


def read_size(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) of an image file from its header alone (no decoding), with the same checks."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image not found")
    with path.open("rb") as f:
        return _open(f, str(path), max_pixels, square=False).size
