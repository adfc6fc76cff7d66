"""Bad-input corpus for image decoding (issue 20): every damaged or unusual image ends in an
:class:`~fashionrec.images.ImageError` that names the file, or in the right pixels — never PIL's bare
``OSError``, a crash or a silently wrong picture.

The builders below (``bomb_png`` ...) are also used by ``tests/test_bad_input_service.py`` and
``benchmarks/bench_bad_images.py``.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fashionrec import images
from fashionrec.images import ImageError, ImageTooLarge, NotAnImage, decode_rgb, read_rgb


# ----- the corpus: bytes of damaged and unusual images ------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 20_000) -> bytes:
    """A 48 KB decompression bomb: a 1-bit grey PNG of side x side pixels (400 Mpx), written chunk by
    chunk with zlib (PIL would need 400 MB to make it)."""
    stream, row = zlib.compressobj(9), b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    idat = b"".join(stream.compress(row) for _ in range(side)) + stream.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def wide_png() -> bytes:
    """143 bytes: a 20000 x 1 RGB PNG (20 kpx, but a 400 Mpx square once padded)."""
    return encode(Image.new("RGB", (20_000, 1), (200, 10, 10)))


def photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def good_jpeg() -> bytes:
    return encode(Image.fromarray(photo()), "JPEG", quality=90)


def jpeg_cut_in_header() -> bytes:
    """A JPEG cut before its scan starts: PIL's ``Image.open`` raises ``OSError: Truncated File Read``."""
    data = good_jpeg()
    return data[:data.find(b"\xff\xda") - 5]


def jpeg_cut_in_body() -> bytes:
    """A JPEG cut half-way: ``load`` raises ``OSError: image file is truncated``."""
    data = good_jpeg()
    return data[:len(data) // 2]


def rgba_png() -> bytes:
    """Left half opaque red, right half fully transparent (its colour black)."""
    a = np.zeros((8, 8, 4), np.uint8)
    a[:, :4] = (255, 0, 0, 255)
    return encode(Image.fromarray(a, "RGBA"))


def grey16_png() -> bytes:
    """16-bit grey: 0, 32896 (mid grey) and 65535."""
    a = np.array([[0, 32896, 65535]], np.uint16)
    return encode(Image.fromarray(a))  # mode I;16


def palette_png() -> bytes:
    """A palette PNG: index 0 transparent (its colour black), index 1 blue."""
    image = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    return encode(image, transparency=0)


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)


def rotated_jpeg() -> bytes:
    """A 64 x 48 JPEG whose EXIF says 'rotate 90° clockwise to view' (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(photo()), "JPEG", quality=90, exif=exif)


# ----- refused: each error names the file and says what is wrong -------------------------------
REFUSED = [  # (case, bytes builder, error class, words in the message)
    ("decompression bomb PNG", bomb_png, ImageTooLarge, "decompression bomb refused (400000000 pixels)"),
    ("20000x1 PNG padded to a square", wide_png, ImageTooLarge, "pads to a 20000x20000 square"),
    ("JPEG cut inside its header", jpeg_cut_in_header, ImageError, "corrupt image: the JPEG header cannot be read"),
    ("JPEG cut inside its body", jpeg_cut_in_body, ImageError,
     "corrupt image: the JPEG data cannot be decoded (image file is truncated"),
    ("text file named .jpg", lambda: b"this is a text file, not a photo", NotAnImage, "not an image"),
    ("empty file", lambda: b"", NotAnImage, "not an image: the file is empty"),
    ("TIFF (not a format the project reads)", lambda: encode(Image.new("RGB", (4, 4)), "TIFF"), NotAnImage,
     "not an image the project reads: TIFF"),
]


@pytest.mark.parametrize("case, build, error, words", REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_file_is_refused_naming_it(tmp_path, case, build, error, words):
    path = tmp_path / "item_0007.jpg"
    path.write_bytes(build())
    with pytest.raises(error) as info:
        read_rgb(path, square=(case == "20000x1 PNG padded to a square"))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message, message
    assert isinstance(info.value, ValueError)  # never PIL's OSError: callers catch one family


def test_twenty_thousand_by_one_passes_unpadded_but_not_padded():
    """W x H = 20 kpx is small; only a caller that pads to the max-side square must refuse it."""
    assert decode_rgb(wide_png()).shape == (1, 20_000, 3)
    assert images.square_pixels(20_000, 1) == 400_000_000
    with pytest.raises(ImageTooLarge, match="upload: image too large: 20000x1 pixels pads to a 20000x20000 square"):
        decode_rgb(wide_png(), square=True)


def test_pixel_limit_is_checked_before_decoding():
    data = encode(Image.new("RGB", (300, 200)))
    assert decode_rgb(data, max_pixels=60_000).shape == (200, 300, 3)
    with pytest.raises(ImageTooLarge,
                       match=r"photo.png: image too large: 300x200 pixels \(60000\), over the limit of 59999"):
        decode_rgb(data, name="photo.png", max_pixels=59_999)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        read_rgb(tmp_path / "nope.jpg")


# ----- decoded right: transparency on white, 16 bit scaled, palette, CMYK, EXIF -----------------
def test_transparency_is_composited_on_white():
    rgb = decode_rgb(rgba_png())
    assert rgb.dtype == np.uint8 and rgb.shape == (8, 8, 3)
    assert (rgb[:, :4] == (255, 0, 0)).all() and (rgb[:, 4:] == 255).all()


def test_grey_and_alpha_is_composited_on_white():
    la = np.stack([np.full((2, 2), 40, np.uint8), np.array([[255, 0], [0, 255]], np.uint8)], -1)
    rgb = decode_rgb(encode(Image.fromarray(la, "LA")))
    assert rgb[0, 0].tolist() == [40, 40, 40] and rgb[0, 1].tolist() == [255, 255, 255]


def test_palette_with_transparency_is_composited_on_white():
    rgb = decode_rgb(palette_png())
    assert rgb[0, 0].tolist() == [255, 255, 255] and rgb[0, 1].tolist() == [0, 0, 255]


def test_sixteen_bit_grey_is_scaled_to_eight_bit():
    assert Image.open(io.BytesIO(grey16_png())).mode in ("I;16", "I")
    rgb = decode_rgb(grey16_png())
    assert rgb[0, :, 0].tolist() == [0, 128, 255] and (rgb[..., 0] == rgb[..., 2]).all()


def test_cmyk_jpeg_becomes_rgb():
    rgb = decode_rgb(cmyk_jpeg())
    assert rgb.shape == (16, 16, 3)
    r, g, b = rgb.reshape(-1, 3).mean(0)
    assert r > 200 and g < 50 and b < 50  # C=0 M=Y=255 K=0 is red


def test_exif_orientation_is_applied():
    rgb = decode_rgb(rotated_jpeg())
    assert rgb.shape == (64, 48, 3)  # stored 64 wide x 48 high, shown rotated
    plain = np.asarray(Image.open(io.BytesIO(rotated_jpeg())).convert("RGB"))
    np.testing.assert_array_equal(rgb, np.rot90(plain, k=-1))


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGB"), ("JPEG", "L"), ("PNG", "L"),
                                       ("PNG", "P"), ("GIF", "P"), ("BMP", "RGB"), ("WEBP", "RGB")])
def test_ordinary_images_decode_as_plain_pil(tmp_path, fmt, mode):
    """Ordinary 8-bit images: exactly what ``Image.open(...).convert("RGB")`` gives."""
    image = Image.fromarray(photo(seed=3))
    image = image.convert(mode) if mode != "P" else image.quantize(16)
    path = tmp_path / f"a.{fmt.lower()}"
    image.save(path, format=fmt)
    with Image.open(path) as im:
        expected = np.asarray(im.convert("RGB"))
    got = read_rgb(path)
    assert got.dtype == np.uint8 and got.shape == (48, 64, 3)
    np.testing.assert_array_equal(got, expected)


def test_read_size_reads_only_the_header(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(bomb_png())
    with pytest.raises(ImageTooLarge, match="big.png"):
        images.read_size(path)
    path.write_bytes(jpeg_cut_in_body())
    assert images.read_size(path) == (64, 48)  # the header is intact; decoding would fail
    path.write_bytes(b"GIF? no")
    with pytest.raises(NotAnImage, match="big.png: not an image"):
        images.read_size(path)
