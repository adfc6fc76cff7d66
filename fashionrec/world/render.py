"""FashionWorld's renderer: product images and consumer "street" photos of items.

Inside: colours, patterns and material textures, outlines, the item renderer (`render_item`,
`render_items`), backgrounds and `render_consumer_photo`. Silhouettes come from `shapes.py`;
scenes (`render_scene`, `mask_box`, `crop_box`) live in `scene.py`, which builds on this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from fashionrec.records import Item
from fashionrec.world.shapes import (BLACK, DARK, GREY, INNER, LIGHT, LINE, LINING, MAIN, METAL,
                                     POLY, RIB, SEAM, STITCH, WHITE, shape_of)
from fashionrec.world.vocab import PALETTE

__all__ = ["render_item", "render_items", "render_consumer_photo"]

_PAT = 16  # pattern level k of the main fabric is drawn with colour index _PAT + k
_FABRIC = np.zeros(24, bool)
_FABRIC[[MAIN, DARK, LIGHT, LINING, RIB, _PAT + 1, _PAT + 2, _PAT + 3]] = True
_WARP = np.array([0.016, 0.012])  # amplitude of the smooth shape warp (x, y)

# ----------------------------------------------------------------------------------------------
# Colours, patterns, materials.


def _frozen(fn):
    """lru_cache for functions returning arrays, made read-only so no caller can alter the cache."""
    @lru_cache(maxsize=1024)
    def cached(*args):
        out = fn(*args)
        out.setflags(write=False)
        return out
    return cached


def _rgb(name: str | None) -> np.ndarray:
    return np.array(PALETTE.get(name or "grey", PALETTE["grey"]), dtype=np.float32)


def _shade(c: np.ndarray, f: float) -> np.ndarray:
    """Darker (f < 1) or lighter (f > 1); very dark colours get lighter instead of darker."""
    if f < 1 and c.mean() < 60:
        return c + (255 - c) * (1 - f) * 0.6
    return c * f if f < 1 else c + (255 - c) * min(f - 1, 1)


_METALS = (np.array([212, 175, 90], np.float32), np.array([192, 192, 200], np.float32))
_FIXED = np.full((24, 3), 255, np.float32)  # labels whose colour does not depend on the item
_FIXED[[WHITE, BLACK, STITCH, INNER, GREY]] = [(242, 242, 238), (34, 34, 38), (214, 158, 70),
                                               (238, 238, 234), (165, 165, 168)]
_CENTRE = np.array((240, 205, 50), np.float32)  # of a flower


@_frozen
def _shades(name: str | None) -> np.ndarray:
    """(9, 3): colour; dark, light, seam, lining, rib shades; pattern shade; darker; lighter."""
    c = _rgb(name)
    return np.stack([c, _shade(c, 0.74), _shade(c, 1.3), _shade(c, 0.55), _shade(c, 0.45),
                     _shade(c, 0.8), _shade(c, 0.55) if c.mean() > 100 else _shade(c, 1.55),
                     _shade(c, 0.35), _shade(c, 1.55)])


@_frozen
def _item_lut(colors: tuple[str, ...], pattern: str | None, metal: int) -> np.ndarray:
    """(24, 3) colour of each label and of each pattern level (rows _PAT + 1...)."""
    own = _shades(colors[0] if colors else None)
    lut = _FIXED.copy()
    lut[[MAIN, DARK, LIGHT, SEAM, LINING, RIB]] = own[:6]
    lut[METAL] = _METALS[metal]
    c1, c2 = own[0], (_shades(colors[1])[0] if len(colors) > 1 else own[6])
    if pattern == "checks":
        lut[_PAT + 1:_PAT + 4] = (c1 + c2) / 2, c2, own[8]
    elif pattern == "floral":
        lut[_PAT + 1:_PAT + 3] = c2, _CENTRE if np.abs(c2 - _CENTRE).sum() > 120 else lut[WHITE]
    elif pattern == "animal":
        spot = c2 if len(colors) > 1 else own[7]
        lut[_PAT + 1:_PAT + 3] = spot, c1 * 0.6 + spot * 0.4
    else:
        lut[_PAT + 1] = c2
    return lut


def _unit_grid(s: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    u = ((np.arange(n, dtype=np.float32) + 0.5) / s)
    return u[None, :], u[:, None]  # x (1, n), y (n, 1)


_N_VARIANTS = {"stripes": 8, "dots": 6, "checks": 4, "floral": 4, "animal": 4}


@_frozen
def _pattern_tile(pattern: str, variant: int, s: int, n: int) -> np.ndarray:
    """(n, n) uint8 pattern levels (0 = base colour) at s pixels per unit; a seed crops it."""
    x, y = _unit_grid(s, n)
    g = np.random.default_rng(1000 + variant)
    if pattern == "stripes":
        p = (0.055, 0.075, 0.1, 0.14)[variant // 2]
        t = (y if variant % 2 == 0 else x) / p
        return ((t % 1) < 0.45).astype(np.uint8) + np.zeros((n, n), np.uint8)
    if pattern == "dots":
        p = (0.07, 0.09, 0.12)[variant % 3]
        row = np.floor(y / p)
        xs = x / p + (0.5 * (row % 2) if variant >= 3 else 0)
        d = ((xs % 1) - 0.5) ** 2 + ((y / p % 1) - 0.5) ** 2
        return (d < 0.3 ** 2).astype(np.uint8)
    if pattern == "checks":
        p = (0.12, 0.16, 0.2, 0.25)[variant]
        bx, by = (x / p % 1) < 0.4, (y / p % 1) < 0.4
        lines = ((x / p + 0.3) % 1 < 0.07) | ((y / p + 0.3) % 1 < 0.07)
        lev = bx.astype(np.uint8) + by.astype(np.uint8)
        return np.where(lines, 3, lev).astype(np.uint8)
    # floral and animal: one motif per cell of a jittered grid, looked up in the 3 x 3 cells around
    p = (0.14, 0.18, 0.12, 0.16)[variant]
    m = int(n / s / p) + 3
    jit = g.uniform(-0.18, 0.18, (m, m, 2))
    rot = g.uniform(0, 2 * np.pi, (m, m))
    size = g.uniform(0.8, 1.15, (m, m))
    xs, ys = np.broadcast_to(x / p, (n, n)), np.broadcast_to(y / p, (n, n))
    out = np.zeros((n, n), np.uint8)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            ci = np.clip(np.floor(ys).astype(int) + di, 0, m - 1)
            cj = np.clip(np.floor(xs).astype(int) + dj, 0, m - 1)
            dx = xs - (cj + 0.5 + jit[ci, cj, 0])
            dy = ys - (ci + 0.5 + jit[ci, cj, 1])
            r, a = np.hypot(dx, dy) / size[ci, cj], np.arctan2(dy, dx) + rot[ci, cj]
            if pattern == "floral":
                petal = r < 0.3 * (0.5 + 0.5 * np.abs(np.cos(2.5 * a)))
                out[petal] = np.maximum(out[petal], 1)
                out[r < 0.075] = 2
            else:  # leopard rosettes: a broken dark ring around a tinted middle
                edge = 0.3 * (1 + 0.18 * np.sin(3 * a + 7 * rot[ci, cj]))
                if variant < 2:
                    ring = (r < edge) & (r > 0.62 * edge) & (np.sin(2 * a + rot[ci, cj]) < 0.75)
                    out[(r <= 0.62 * edge) & (out == 0)] = 2
                    out[ring] = 1
                else:
                    out[r < 0.8 * edge] = 1
    return out


@_frozen
def _material_tile(material: str, s: int, n: int) -> np.ndarray:
    """(n, n) float32 brightness factor around 1 for a material at s pixels per unit."""
    g = np.random.default_rng(7)
    noise = g.standard_normal((n, n)).astype(np.float32)
    x, y = _unit_grid(s, n)
    px = np.arange(n, dtype=np.float32)
    if material == "denim":
        period = max(3.0, 0.035 * s)
        twill = ((px[None, :] + px[:, None]) / period % 1 < 0.5).astype(np.float32) * 2 - 1
        return 1 + 0.07 * twill + 0.05 * noise
    if material == "knit":
        return 1 + 0.1 * np.sin(2 * np.pi * px[None, :] / max(3.0, 0.045 * s)) + 0.03 * noise
    if material in ("leather", "silk"):
        return 1 + 0.012 * noise
    if material == "wool":
        fuzz = noise.copy()
        for axis in (0, 1, 0, 1):
            fuzz = (fuzz + np.roll(fuzz, 1, axis) + np.roll(fuzz, -1, axis)) / 3
        return 1 + 0.12 * fuzz / fuzz.std() * 0.7 + 0.04 * noise
    return 1 + 0.035 * noise  # cotton and unknown


@_frozen
def _rib_tile(s: int, n: int) -> np.ndarray:
    px = np.arange(n, dtype=np.float32)
    return np.broadcast_to(0.92 + 0.16 * (px[None, :] / max(2.0, 0.03 * s) % 1 < 0.5),
                           (n, n)).copy()


_CAP = np.array([255] + [250] * 23, np.float32)  # only the background is pure white
_RIM = np.array([1.0, 0.82, 0.6, 0.6], np.float32)


def outline(lab: np.ndarray, thick: int) -> np.ndarray:
    """Brightness factor: 0.6 on the silhouette's rim, 0.82 on internal label boundaries."""
    h, w = lab.shape
    pad = np.zeros((h + 2, w + 2), np.uint8)
    pad[1:-1, 1:-1] = lab
    fg = lab > 0
    near = np.minimum(np.minimum(pad[:-2, 1:-1], pad[2:, 1:-1]),
                      np.minimum(pad[1:-1, :-2], pad[1:-1, 2:]))
    rim = fg & (near == 0)
    diff = (lab != pad[1:-1, :-2]) | (lab != pad[:-2, 1:-1])
    for _ in range(thick - 1):
        pad[1:-1, 1:-1] = np.where(rim, 0, lab)
        near = np.minimum(np.minimum(pad[:-2, 1:-1], pad[2:, 1:-1]),
                          np.minimum(pad[1:-1, :-2], pad[1:-1, 2:]))
        rim |= fg & (near == 0)
    return _RIM.take(rim.view(np.uint8) * 2 + (diff & fg).view(np.uint8))


# ----------------------------------------------------------------------------------------------
# The item renderer.
# Deterministic (``np.random.default_rng(seed)``, never global state) and fast: Pillow's
# ``ImageDraw`` rasterises the polygons (``skimage.draw.polygon`` costs ~200 µs a call, ten times
# our budget) and patterns and textures are cached tiles per scale that a seed only crops.


def draw_item(item: Item, seed: int, h: int, w: int, affine: np.ndarray,
          coarse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Render an item on an (h, w) canvas; ``affine`` (2, 3) maps unit points to pixels.

    ``coarse`` rounds the pattern scale to a quarter octave, so that scenes (where every item
    has its own scale) reuse a few cached pattern tiles.

    Returns the colour (h, w, 3) uint8 (white where nothing is drawn) and the labels (h, w).
    """
    shape = shape_of(item)
    rng = np.random.default_rng(seed)
    r = rng.random(14)
    noise = rng.normal(0.0, 0.0035, shape.points.shape)
    # jitter: scale +-10 %, a small shift, a smooth warp (x wiggles with y and y with x), noise
    sxy = 0.9 + 0.2 * r[:2]
    uv = (shape.centred * sxy + (0.5 + 0.012 * np.sin(2 * np.pi * r[2:4]))
          + _WARP * np.sin(shape.swapped * (0.5 + r[4:6]) + 2 * np.pi * r[6:8]) + noise)
    xy = uv @ affine[:, :2].T + affine[:, 2]
    scale = math.sqrt(abs(affine[0, 0] * affine[1, 1] - affine[0, 1] * affine[1, 0]))
    lw = scale * (sxy[0] + sxy[1]) / 2
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for kind, i, j, lab, width in shape.parts:
        if kind == POLY:
            draw.polygon(xy[i:j].ravel().tolist(), fill=lab)
        elif kind == LINE:
            draw.line(xy[i:j].ravel().tolist(), fill=lab, width=max(1, round(width * lw)),
                      joint="curve" if j - i > 2 else None)
        else:
            rad = max(0.75, width * lw)
            x, y = xy[i]
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=lab)
    lab = np.frombuffer(canvas.tobytes(), np.uint8).reshape(h, w)

    # colour: palette + pattern inside the main fabric
    s = max(8, round(2 ** (round(4 * math.log2(scale)) / 4) if coarse else scale))
    n = 3 * s if coarse and max(h, w) <= 2 * s else max(2 * s, h + s, w + s)
    n = -(-n // 16) * 16
    lut = _item_lut(tuple(item.colors), item.pattern, int(r[8] < 0.5))
    pattern = item.pattern if item.pattern in _N_VARIANTS else None
    if pattern:
        tile = _pattern_tile(pattern, int(r[9] * _N_VARIANTS[pattern]), s, n)
        oy, ox = int(r[10] * (n - h)), int(r[11] * (n - w))
        lev = tile[oy:oy + h, ox:ox + w]
        idx = np.where((lab == MAIN) & (lev > 0), lev + _PAT, lab)
    else:
        idx = lab
    rgb = lut.take(idx, axis=0)

    # material texture, ribbing and outline as one brightness factor
    material = item.material or "cotton"
    tex = _material_tile(material, s, n)
    oy, ox = int(r[12] * (n - h)), int(r[13] * (n - w))
    tex = tex[oy:oy + h, ox:ox + w]
    f = tex
    if material in ("leather", "silk"):
        gx, gy = _unit_grid(max(h, w), max(h, w))
        gx, gy = gx[:, :w], gy[:h]
        if material == "leather":  # specular spot, upper left, and a soft vertical falloff
            cx, cy = 0.3 + 0.2 * r[2], 0.25 + 0.2 * r[5]
            f = f + 0.4 * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / 0.03) - 0.16 * gy
        else:  # silk: broad soft sheen bands
            ang = np.pi * r[3]
            f = f + 0.11 * np.sin(2 * np.pi * 1.4 * (gx * math.cos(ang) + gy * math.sin(ang))
                                  + 6.3 * r[4])
    fabric = _FABRIC.take(idx)
    f = np.where(fabric, f, np.float32(1.0))
    if shape.has_rib:
        f = np.where(lab == RIB, f * _rib_tile(s, n)[:h, :w], f)
    f *= outline(lab, max(1, round(scale / 96)))
    rgb *= f[..., None]
    if material == "denim":  # blue-ish noise
        rgb[..., 2] += np.where(fabric, 120.0 * (tex - 1) + 6, np.float32(0))
        np.maximum(rgb, 0, out=rgb)
    np.minimum(rgb, _CAP.take(lab)[..., None], out=rgb)
    return rgb.astype(np.uint8), lab


def _product_affine(size: int) -> np.ndarray:
    return np.array([[size, 0, -0.5], [0, size, -0.5]], np.float64)


def render_item(item: Item, seed: int, size: int = 64) -> np.ndarray:
    """A product image: the item centred on a white background.

    The silhouette of ``item.subcategory`` is jittered by ``seed`` (scale ±10 %, a smooth warp
    and a few-% vertex noise); colours, pattern and material come from the item.

    Args:
        item: the item; missing colours, pattern or material fall back to grey, solid, cotton.
        seed: drives the shape jitter and the pattern/texture phase.
        size: side in pixels; drawn at this size directly.

    Returns:
        (size, size, 3) uint8 RGB image.
    """
    return draw_item(item, seed, size, size, _product_affine(size))[0]


def render_items(items: Sequence[Item], seeds: Sequence[int], size: int = 64,
                 progress: bool = False) -> np.ndarray:
    """Product images of many items: (N, size, size, 3) uint8, one seed per item."""
    if len(items) != len(seeds):
        raise ValueError(f"need one seed per item; got {len(items)} items, {len(seeds)} seeds")
    out = np.empty((len(items), size, size, 3), np.uint8)
    pairs = zip(items, seeds)
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, total=len(items), desc="render")
    affine = _product_affine(size)
    for k, (item, seed) in enumerate(pairs):
        out[k] = draw_item(item, seed, size, size, affine)[0]
    return out


# ----------------------------------------------------------------------------------------------
# Backgrounds: indoor (wall, floor, window or picture), street (sky, buildings, pavement), busy.

_WALLS = np.array([(205, 195, 175), (185, 198, 205), (214, 204, 192), (176, 186, 164),
                   (222, 212, 186), (168, 158, 150), (200, 180, 185)], np.float32)
_FLOORS = np.array([(150, 110, 70), (120, 90, 60), (170, 150, 120), (110, 110, 115),
                    (90, 70, 55), (140, 135, 125)], np.float32)
_FACADES = np.array([(170, 120, 95), (150, 150, 155), (200, 185, 160), (120, 90, 80),
                     (185, 170, 150), (110, 115, 125), (210, 200, 180), (160, 90, 70)], np.float32)
_OBJECTS = np.array([(200, 60, 50), (60, 90, 160), (70, 130, 80), (220, 180, 60), (90, 60, 110),
                     (40, 40, 45), (230, 120, 140), (120, 160, 200), (170, 110, 60)], np.float32)
# skin tones: occluding hands here, the figure in scene.py
SKIN = np.array([(241, 205, 180), (224, 172, 138), (198, 134, 98), (160, 104, 70),
                 (110, 72, 50)], np.float32)


def _span(rng, n: int, lo: float, hi: float) -> tuple[int, int]:
    """A random [a, b) pixel interval of length lo..hi of n, inside [0, n)."""
    size = max(1, int(n * rng.uniform(lo, hi)))
    a = int(rng.integers(0, max(1, n - size + 1)))
    return a, a + size


def _indoor(rng, h: int, w: int) -> np.ndarray:
    x, y = _unit_grid(w, w)[0], _unit_grid(h, h)[1]
    img = np.empty((h, w, 3), np.float32)
    wall = _WALLS[rng.integers(len(_WALLS))] * rng.uniform(0.85, 1.02)
    img[:] = wall * (0.9 + 0.14 * y)[..., None]
    fy = int(h * rng.uniform(0.6, 0.82))
    floor = _FLOORS[rng.integers(len(_FLOORS))] * (0.85 + 0.3 * (y[fy:] - y[fy]))[..., None]
    img[fy:] = floor
    seams = ((x[0] * rng.uniform(5, 10) + rng.random()) % 1) < 0.06
    img[fy:, seams] *= 0.8
    img[max(0, fy - max(1, h // 40)):fy] = 225  # skirting board
    x0, x1 = _span(rng, w, 0.2, 0.4)
    y0, y1 = _span(rng, fy, 0.3, 0.55)
    b = max(1, w // 40)
    if rng.random() < 0.6:  # window: frame, sky, cross bars
        img[y0:y1, x0:x1] = (228, 226, 220)
        sky = np.array([120, 165, 215], np.float32) + 50 * y[y0 + b:y1 - b][..., None]
        img[y0 + b:y1 - b, x0 + b:x1 - b] = np.minimum(sky, 215)
        img[(y0 + y1) // 2 - b // 2:(y0 + y1) // 2 + (b + 1) // 2, x0:x1] = (228, 226, 220)
        img[y0:y1, (x0 + x1) // 2 - b // 2:(x0 + x1) // 2 + (b + 1) // 2] = (228, 226, 220)
    else:  # picture frame with an abstract painting
        img[y0:y1, x0:x1] = (60, 45, 35)
        img[y0 + b:y1 - b, x0 + b:x1 - b] = _OBJECTS[rng.integers(len(_OBJECTS))]
        img[y0 + b:(y0 + y1) // 2, x0 + b:(x0 + x1) // 2] = _OBJECTS[rng.integers(len(_OBJECTS))]
    if rng.random() < 0.6:  # furniture on the floor line
        x0, x1 = _span(rng, w, 0.2, 0.45)
        img[int(fy - h * rng.uniform(0.1, 0.25)):fy + max(1, h // 20), x0:x1] = (
            _OBJECTS[rng.integers(len(_OBJECTS))] * 0.8)
    return img


def _street(rng, h: int, w: int) -> np.ndarray:
    x, y = _unit_grid(w, w)[0], _unit_grid(h, h)[1]
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.array([105, 155, 215], np.float32) + np.array([80, 55, 20]) * y[..., None]
    py = int(h * rng.uniform(0.68, 0.85))
    left = 0
    while left < w:
        right = min(w, left + max(2, int(w * rng.uniform(0.15, 0.4))))
        top = int(h * rng.uniform(0.03, 0.5))
        img[top:py, left:right] = _FACADES[rng.integers(len(_FACADES))] * rng.uniform(0.8, 1.05)
        period = rng.uniform(0.07, 0.12)
        win = (((x[:, left:right] - x[0, left]) / period) % 1 < 0.5) & (
            ((y[top:py] - y[top]) / (period * 1.3)) % 1 > 0.35)
        img[top:py, left:right][win] = (70, 85, 105) if rng.random() < 0.7 else (210, 200, 140)
        left = right
    img[py:] = rng.uniform(130, 175) + 20 * (y[py:] - y[py])[..., None]
    img[py:, ((x[0] * rng.uniform(4, 8)) % 1) < 0.04] *= 0.82
    img[py:py + max(1, h // 50)] = 110  # kerb
    return img


def _busy(rng, h: int, w: int) -> np.ndarray:
    x, y = _unit_grid(w, w)[0], _unit_grid(h, h)[1]
    a, b = _OBJECTS[rng.integers(len(_OBJECTS), size=2)] * 0.5 + 70
    t = (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1)) * 0.5 + 0.5
    img = a + (b - a) * t[..., None]
    ang, period = rng.uniform(0, np.pi), rng.uniform(0.06, 0.2)
    stripes = ((x * math.cos(ang) + y * math.sin(ang)) / period) % 1 < 0.4
    img[stripes] = img[stripes] * 0.6 + _OBJECTS[rng.integers(len(_OBJECTS))] * 0.4
    for _ in range(int(rng.integers(2, 6))):
        cx, cy, rx, ry = rng.uniform(0, 1), rng.uniform(0, 1), *rng.uniform(0.06, 0.25, 2)
        blob = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1
        img[blob] = _OBJECTS[rng.integers(len(_OBJECTS))] * rng.uniform(0.7, 1.0)
    return img


BACKGROUNDS = {"indoor": _indoor, "street": _street, "busy": _busy}


def _box_blur(img: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window of an (H, W, C) image, edges repeated."""
    n = 2 * r + 1
    p = np.pad(img, ((r + 1, r), (0, 0), (0, 0)), mode="edge").cumsum(0)
    img = p[n:] - p[:-n]
    p = np.pad(img, ((0, 0), (r + 1, r), (0, 0)), mode="edge").cumsum(1)
    return (p[:, n:] - p[:, :-n]) / (n * n)


# ----------------------------------------------------------------------------------------------
# Consumer photos (chapter 3).


def render_consumer_photo(item: Item, seed: int, photo_seed: int, size: int = 64) -> np.ndarray:
    """The item photographed "in the wild" for consumer-to-shop retrieval (chapter 3).

    The garment is exactly the one of ``render_item(item, seed, size)``; ``photo_seed`` picks a
    busy background (indoor, street or stripes and blobs), scales (0.6-1.0), rotates (±20°) and
    shifts it, sometimes occludes up to ~25 % of it (a hand or an object), then changes
    brightness, contrast and colour cast, blurs and adds sensor noise.

    Returns:
        (size, size, 3) uint8 RGB image.
    """
    shop, lab = draw_item(item, seed, size, size, _product_affine(size))
    rng = np.random.default_rng(photo_seed)
    kind = ("indoor", "street", "busy")[int(rng.integers(3))]
    img = BACKGROUNDS[kind](rng, size, size)

    # geometry: inverse-map every output pixel into the shop image (nearest neighbour)
    scale, angle = rng.uniform(0.6, 1.0), math.radians(rng.uniform(-20, 20))
    shift = (rng.uniform(-1, 1, 2) * (1 - scale) * 0.45 + rng.uniform(-0.05, 0.05, 2)) * size
    c = (size - 1) / 2
    px = np.arange(size, dtype=np.float32)
    dx, dy = px[None, :] - c - shift[0], px[:, None] - c - shift[1]
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    ix = np.rint(cos * dx + sin * dy + c).astype(np.intp)
    iy = np.rint(-sin * dx + cos * dy + c).astype(np.intp)
    inside = (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
    flat = np.where(inside, iy * size + ix, 0)
    fg = inside & (lab.reshape(-1)[flat] > 0)
    img = np.where(fg[..., None], shop.reshape(-1, 3)[flat].astype(np.float32), img)

    # occlusion: a hand or an object over at most ~25 % of the item's pixels
    ys, xs = np.nonzero(fg)
    if len(ys) and rng.random() < 0.5:
        area, aspect = rng.uniform(0.08, 0.25) * len(ys), rng.uniform(0.5, 2.0)
        ow, oh = math.sqrt(area * aspect), math.sqrt(area / aspect)
        k = int(rng.integers(len(ys)))
        cy, cx = ys[k] + rng.uniform(-0.5, 0.5) * oh, xs[k] + rng.uniform(-0.5, 0.5) * ow
        colour = (SKIN[rng.integers(len(SKIN))] if rng.random() < 0.5
                  else _OBJECTS[rng.integers(len(_OBJECTS))])
        if rng.random() < 0.5:
            y0, x0 = max(0, int(cy - oh / 2)), max(0, int(cx - ow / 2))
            img[y0:max(y0, int(cy + oh / 2)), x0:max(x0, int(cx + ow / 2))] = colour
        else:
            rx, ry = ow / 2 * 1.13, oh / 2 * 1.13  # an ellipse of the same area
            blob = ((px[None, :] - cx) / rx) ** 2 + ((px[:, None] - cy) / ry) ** 2 < 1
            img[blob] = colour

    # light: contrast, brightness, colour cast and a gradient; then blur and noise
    u = px / size - 0.5
    light = 1 + rng.uniform(-0.3, 0.3) * u[None, :] + rng.uniform(-0.3, 0.3) * u[:, None]
    cast = rng.uniform(0.82, 1.18, 3)
    img = ((img - 128) * rng.uniform(0.6, 1.05) + 128 + rng.uniform(-35, 25)) * (
        light[..., None] * (cast / cast.mean()))
    img = _box_blur(img, max(1, round(rng.uniform(0.5, 1.3) * size / 64)))
    if rng.random() < 0.5:
        img = _box_blur(img, 1)
    img += rng.normal(0, rng.uniform(2, 7), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
