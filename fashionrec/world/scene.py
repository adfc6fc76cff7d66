"""FashionWorld's scenes (chapter 5): a figure wearing an outfit, with a box per item.

Inside: the figure, where each sub-category goes on it (`_placements`), `render_scene`, and the
box helpers `mask_box` and `crop_box`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from fashionrec.records import Box, Item
from fashionrec.world.render import BACKGROUNDS, SKIN, draw_item, outline
from fashionrec.world.shapes import (INNER, LINE, POLY, SHAPES, arc, disc, ellipse, polygon,
                                     stroke, subcategory_of, symmetric)
from fashionrec.world.vocab import CATEGORY_OF

__all__ = ["render_scene", "mask_box", "crop_box"]

# Body units: x across the figure's width, y down its height; the figure's box is twice as tall
# as wide.

_HAIR = np.array([(30, 25, 22), (85, 55, 35), (160, 120, 70), (210, 180, 120), (120, 40, 25),
                  (70, 70, 70)], np.float32)
_F_SKIN, _F_HAIR, _F_TOP, _F_BOTTOM, _F_DARK = 1, 2, 3, 4, 5


def _figure_parts(long_hair: bool) -> list:
    arm = [(0.31, 0.19), (0.245, 0.33), (0.185, 0.46)]
    leg = [(0.36, 0.47), (0.495, 0.47), (0.478, 0.945), (0.392, 0.945)]
    hair = arc(0.5, 0.075, 0.105, 0.058, 180, 360, 12) + [(0.6, 0.08), (0.5, 0.055), (0.4, 0.08)]
    back = [(0.37, 0.06), (0.63, 0.06), (0.66, 0.22), (0.34, 0.22)]
    return ([polygon(back, _F_HAIR)] if long_hair else []) + [
        *symmetric(stroke(arm, 0.085, _F_SKIN), ellipse(0.18, 0.49, 0.05, 0.026, _F_SKIN, n=12),
                   polygon(leg, _F_SKIN), ellipse(0.42, 0.958, 0.075, 0.017, _F_SKIN, n=12)),
        polygon([(0.35, 0.41), (0.65, 0.41), (0.665, 0.545), (0.51, 0.55), (0.5, 0.52),
                 (0.49, 0.55), (0.335, 0.545)], _F_BOTTOM),
        polygon([(0.45, 0.12), (0.55, 0.12), (0.555, 0.19), (0.445, 0.19)], _F_SKIN),
        polygon([(0.31, 0.17), (0.69, 0.17), (0.66, 0.3), (0.635, 0.4), (0.65, 0.45),
                 (0.35, 0.45), (0.365, 0.4), (0.34, 0.3)], _F_TOP),
        ellipse(0.5, 0.085, 0.095, 0.052, _F_SKIN), polygon(hair, _F_HAIR),
        disc(0.46, 0.088, 0.012, _F_DARK), disc(0.54, 0.088, 0.012, _F_DARK)]


_FIGURES = {long_hair: _figure_parts(long_hair) for long_hair in (False, True)}

# Where each sub-category goes, in body units. A rect (x0, y0, x1, y1) receives the garment's
# bounding box; rigid things keep their aspect: (centre x, y, width, anchor of y: t / c / b).
_RECTS = {
    "t-shirt": (0.12, 0.155, 0.88, 0.5), "shirt": (0.12, 0.155, 0.88, 0.52),
    "blouse": (0.14, 0.155, 0.86, 0.5), "sweater": (0.12, 0.155, 0.88, 0.52),
    "tank": (0.29, 0.15, 0.71, 0.5), "jacket": (0.1, 0.15, 0.9, 0.53),
    "coat": (0.1, 0.15, 0.9, 0.8), "blazer": (0.1, 0.15, 0.9, 0.57),
    "dress": (0.15, 0.15, 0.85, 0.76), "jeans": (0.33, 0.42, 0.67, 0.95),
    "trousers": (0.33, 0.42, 0.67, 0.95), "shorts": (0.31, 0.42, 0.69, 0.62),
    "skirt": (0.25, 0.42, 0.75, 0.7), "scarf": (0.36, 0.14, 0.64, 0.42)}
_SHOE = (0.4, 0.99, 0.3, "b")
_RIGID = {
    "sneakers": _SHOE, "boots": (0.4, 0.99, 0.26, "b"), "heels": _SHOE,
    "sandals": (0.42, 0.99, 0.13, "b"), "loafers": _SHOE, "handbag": (0.83, 0.48, 0.34, "t"),
    "backpack": (0.84, 0.45, 0.36, "t"), "tote": (0.84, 0.43, 0.36, "t"),
    "clutch": (0.82, 0.51, 0.32, "c"),
    "hat": (0.5, 0.07, 0.46, "b"), "sunglasses": (0.5, 0.083, 0.24, "c"),
    "necklace": (0.5, 0.165, 0.2, "t"), "watch": (0.185, 0.455, 0.13, "c"),
    "belt": (0.5, 0.42, 0.4, "c")}
_Z = {"bottom": 0, "shoes": 1, "top": 2, "dress": 2, "outerwear": 3, "belt": 4, "scarf": 5,
      "necklace": 6, "bag": 7, "watch": 8, "hat": 9, "sunglasses": 10}


def _placements(sub: str, fig: np.ndarray, under: bool = False) -> list[np.ndarray]:
    """Affine maps (unit -> scene pixels) for one item; two for shoes (the right one mirrored).

    ``fig`` = (x0, y0, width, height) of the figure in pixels; ``under``: a top under outerwear
    is drawn 20 % narrower so that its sleeves stay inside the jacket's.
    """
    (ulo, vlo), (uhi, vhi) = SHAPES[sub].bbox
    fx, fy, fw, fh = fig
    if sub in _RIGID:
        cx, y, wb, anchor = _RIGID[sub]
        rot = sub == "watch"  # the strap wraps the wrist
        w = wb * fw
        h = w * ((uhi - ulo) / (vhi - vlo) if rot else (vhi - vlo) / (uhi - ulo))
        y0 = fy + y * fh - {"t": 0, "c": h / 2, "b": h}[anchor]
        rects = [(fx + cx * fw - w / 2, y0, fx + cx * fw + w / 2, y0 + h)]
        if CATEGORY_OF.get(sub) == "shoes":
            rects.append((fx + (1 - cx) * fw + w / 2, y0, fx + (1 - cx) * fw - w / 2, y0 + h))
    else:
        x0, y0, x1, y1 = _RECTS.get(sub, (0.3, 0.2, 0.7, 0.5))
        if under:
            x0, x1 = 0.5 - (0.5 - x0) * 0.8, 0.5 + (x1 - 0.5) * 0.8
        rects, rot = [(fx + x0 * fw, fy + y0 * fh, fx + x1 * fw, fy + y1 * fh)], False
    out = []
    for x0, y0, x1, y1 in rects:  # x1 < x0 mirrors
        if rot:
            a, c = (x1 - x0) / (vhi - vlo), (y1 - y0) / (uhi - ulo)
            out.append(np.array([[0, a, x0 - a * vlo - 0.5], [c, 0, y0 - c * ulo - 0.5]]))
        else:
            a, c = (x1 - x0) / (uhi - ulo), (y1 - y0) / (vhi - vlo)
            out.append(np.array([[a, 0, x0 - a * ulo - 0.5], [0, c, y0 - c * vlo - 0.5]]))
    return out


def _paste(scene: np.ndarray, item: Item, seed: int, affine: np.ndarray) -> tuple | None:
    """Draw the item into the scene in place; return its pixel extent (y0, y1, x0, x1) or None."""
    size = scene.shape[0]
    corners = affine @ np.array([[-0.1, -0.1, 1.1, 1.1], [-0.1, 1.1, -0.1, 1.1], [1, 1, 1, 1]])
    x0, y0 = np.clip(np.floor(corners.min(1)).astype(int), 0, size)
    x1, y1 = np.clip(np.ceil(corners.max(1)).astype(int) + 1, 0, size)
    if x1 <= x0 or y1 <= y0:
        return None
    local = affine.copy()
    local[:, 2] -= (x0, y0)
    rgb, lab = draw_item(item, seed, int(y1 - y0), int(x1 - x0), local, coarse=True)
    mask = (lab > 0) & (lab != INNER)  # an open jacket shows what is under it
    if not mask.any():
        return None
    view = scene[y0:y1, x0:x1]
    view[mask] = rgb[mask]
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    return y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1


def render_scene(items: Sequence[Item], seeds: Sequence[int], scene_seed: int,
                 size: int = 128) -> tuple[np.ndarray, list[Box]]:
    """A figure wearing the outfit on an indoor or street background (Kang et al. 2019).

    Each item is drawn at its body place (top on the torso, shoes at the feet, bag at a hand,
    hat on the head, ...) with the same garment shape as its product image.

    Args:
        items: the outfit's items.
        seeds: one shape seed per item (as for ``render_item``).
        scene_seed: background, skin, hair and the figure's position.
        size: side in pixels.

    Returns:
        The (size, size, 3) uint8 image and one normalised box (x0, y0, x1, y1) per item, in
        the given order, tight around the pixels drawn for that item.
    """
    if len(items) != len(seeds):
        raise ValueError(f"need one seed per item; got {len(items)} items, {len(seeds)} seeds")
    rng = np.random.default_rng(scene_seed)
    kind = ("indoor", "street")[int(rng.integers(2))]
    scene = BACKGROUNDS[kind](rng, size, size)
    fh = size * rng.uniform(0.83, 0.89)
    fy = size * 0.985 - fh - size * rng.uniform(0, 0.02)
    fw = fh / 2
    fx = size / 2 - fw / 2 + size * rng.uniform(-0.07, 0.07)
    fig = np.array([fx, fy, fw, fh])

    # the figure: skin, hair, a neutral base layer
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for kind_, pts, lab, width in _FIGURES[bool(rng.random() < 0.5)]:
        xy = np.asarray(pts) * (fw, fh) + (fx - 0.5, fy - 0.5)
        if kind_ == POLY:
            draw.polygon(xy.ravel().tolist(), fill=lab)
        elif kind_ == LINE:
            draw.line(xy.ravel().tolist(), fill=lab, width=max(1, round(width * fw)), joint="curve")
        else:
            rad = max(0.6, width * fw)
            draw.ellipse((xy[0, 0] - rad, xy[0, 1] - rad, xy[0, 0] + rad, xy[0, 1] + rad), fill=lab)
    lab = np.frombuffer(canvas.tobytes(), np.uint8).reshape(size, size)
    lut = np.zeros((6, 3), np.float32)
    lut[_F_SKIN], lut[_F_HAIR] = SKIN[rng.integers(len(SKIN))], _HAIR[rng.integers(len(_HAIR))]
    lut[_F_TOP], lut[_F_BOTTOM], lut[_F_DARK] = (200, 200, 196), (80, 80, 84), (30, 25, 25)
    if any(CATEGORY_OF.get(subcategory_of(item)) in ("top", "dress") for item in items):
        lut[_F_TOP] = lut[_F_SKIN]  # bare shoulders and neckline, not the neutral base layer
    body = lut.take(lab, axis=0) * outline(lab, 1)[..., None]
    scene = np.where((lab > 0)[..., None], body, scene).astype(np.uint8)

    # the items, back to front
    boxes: list[Box] = [(0.0, 0.0, 0.0, 0.0)] * len(items)
    order = sorted(range(len(items)), key=lambda k: _Z.get(
        subcategory_of(items[k]), _Z.get(items[k].category, 5)))
    layered = any(CATEGORY_OF.get(subcategory_of(item)) == "outerwear" for item in items)
    for k in order:
        sub = subcategory_of(items[k])
        under = layered and CATEGORY_OF.get(sub) == "top"
        extents = [e for a in _placements(sub, fig, under)
                   if (e := _paste(scene, items[k], seeds[k], a))]
        if extents:
            y0, x0 = min(e[0] for e in extents), min(e[2] for e in extents)
            y1, x1 = max(e[1] for e in extents), max(e[3] for e in extents)
            boxes[k] = (float(x0 / size), float(y0 / size), float(x1 / size), float(y1 / size))
        else:  # nothing visible (cannot happen with the placements above): the intended place
            boxes[k] = (0.45, 0.45, 0.55, 0.55)
    return scene, boxes


# ----------------------------------------------------------------------------------------------
# Boxes.


def _box_pixels(box: Box, h: int, w: int) -> tuple[int, int, int, int]:
    x0, y0 = int(np.clip(math.floor(box[0] * w + 1e-6), 0, w - 1)), int(
        np.clip(math.floor(box[1] * h + 1e-6), 0, h - 1))
    x1, y1 = int(np.clip(math.ceil(box[2] * w - 1e-6), x0 + 1, w)), int(
        np.clip(math.ceil(box[3] * h - 1e-6), y0 + 1, h))
    return x0, y0, x1, y1


def mask_box(image: np.ndarray, box: Box, fill: tuple[int, int, int] = (127, 127, 127)
             ) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) with the box filled (Complete the Look hides the product)."""
    x0, y0, x1, y1 = _box_pixels(box, *image.shape[:2])
    out = image.copy()
    out[y0:y1, x0:x1] = fill
    return out


def crop_box(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """The box's region of ``image`` (H, W, 3) resized (bilinear) to (size, size, 3) uint8."""
    x0, y0, x1, y1 = _box_pixels(box, *image.shape[:2])
    region = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1], dtype=np.uint8))
    return np.asarray(region.resize((size, size), Image.BILINEAR)).copy()
