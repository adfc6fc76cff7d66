"""FashionWorld's procedural renderer: product shots, consumer "street" photos and scenes.

Every sub-category is a small drawing in the unit square (polygons, strokes and discs, each
with a *label*: main fabric, trim, sole, metal, ...). Rendering jitters the drawing with the
item's seed, rasterises the labels, then colours them: palette colour, a pattern mask computed
on the pixel grid (inside the main fabric only), a material texture and a darker outline.

Everything is deterministic (``np.random.default_rng(seed)``, never global state) and fast:
patterns and textures are cached tiles per scale that a seed only crops. Pillow's ``ImageDraw``
rasterises the polygons: ``skimage.draw.polygon`` costs ~200 µs a call, ten times our budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from fashionrec.world.records import Box, Item
from fashionrec.world.vocab import CATEGORY_OF, PALETTE, SUBCATEGORIES

__all__ = ["render_item", "render_items", "render_consumer_photo", "render_scene", "mask_box",
           "crop_box"]

# Labels of the drawing; colours come from `_item_lut`.
BG, MAIN, DARK, LIGHT, WHITE, METAL, BLACK, SEAM, LINING, RIB, STITCH, INNER, GREY = range(13)
_PAT = 16  # pattern level k of the main fabric is drawn with colour index _PAT + k
_FABRIC = np.zeros(24, bool)
_FABRIC[[MAIN, DARK, LIGHT, LINING, RIB, _PAT + 1, _PAT + 2, _PAT + 3]] = True
_POLY, _LINE, _DISC = 0, 1, 2
_FIT = 0.84  # a product's longer side covers this share of the frame
_WARP = np.array([0.016, 0.012])  # amplitude of the smooth shape warp (x, y)

# ----------------------------------------------------------------------------------------------
# The drawings: points (x, y) in the unit square, y down. Shoes face left (sandals: from above).


def _P(pts, lab=MAIN):
    return (_POLY, list(pts), lab, 0.0)


def _L(pts, w=0.016, lab=SEAM):
    return (_LINE, list(pts), lab, w)


def _D(x, y, r, lab):
    return (_DISC, [(x, y)], lab, r)


def _arc(cx, cy, rx, ry, a0=0.0, a1=360.0, n=24):
    a = np.radians(np.linspace(a0, a1, n, endpoint=(a1 - a0) % 360 != 0))
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in a]


def _E(cx, cy, rx, ry, lab=MAIN, n=24):
    return _P(_arc(cx, cy, rx, ry, n=n), lab)


def _mirror(half):
    """Left half from the top centre down to the bottom centre -> the whole symmetric outline."""
    tail = [(1.0 - x, y) for x, y in reversed(half)]
    if half[-1][0] == 0.5:
        tail = tail[1:]
    if half[0][0] == 0.5:
        tail = tail[:-1]
    return list(half) + tail


def _sym(*parts):
    """The parts and their mirror images (x -> 1 - x)."""
    return [*parts, *((k, [(1.0 - x, y) for x, y in pts], lab, w) for k, pts, lab, w in parts)]


def _scale(pts, cx, cy, f):
    return [(cx + (x - cx) * f, cy + (y - cy) * f) for x, y in pts]


def _shape_specs() -> dict[str, list]:
    """The 28 drawings. Parts are drawn in order (later on top); each part's label picks its
    colour: MAIN (colour + pattern), DARK / LIGHT / SEAM / LINING / RIB shades of it, or a fixed
    colour (WHITE sole, METAL buckle, BLACK lens, STITCH of jeans, INNER shirt under a jacket)."""
    s: dict[str, list] = {}
    s["t-shirt"] = [
        _P(_mirror([(0.5, 0.2), (0.43, 0.17), (0.385, 0.115), (0.22, 0.16), (0.05, 0.37),
                    (0.16, 0.47), (0.265, 0.37), (0.255, 0.9), (0.5, 0.91)])),
        _P([(0.39, 0.12), (0.61, 0.12), (0.57, 0.165), (0.5, 0.185), (0.43, 0.165)], LINING),
        _L([(0.385, 0.115), (0.43, 0.17), (0.5, 0.195), (0.57, 0.17), (0.615, 0.115)], 0.03, RIB),
        *_sym(_L([(0.08, 0.35), (0.18, 0.44)])),
        _L([(0.26, 0.86), (0.74, 0.86)])]
    s["shirt"] = [
        _P(_mirror([(0.5, 0.09), (0.4, 0.08), (0.25, 0.12), (0.19, 0.2), (0.07, 0.84),
                    (0.17, 0.86), (0.285, 0.36), (0.285, 0.88), (0.37, 0.94), (0.5, 0.95)])),
        *_sym(_P([(0.068, 0.8), (0.172, 0.82), (0.168, 0.87), (0.062, 0.85)], DARK)),
        _P([(0.39, 0.07), (0.61, 0.07), (0.5, 0.13)], LINING),
        *_sym(_P([(0.385, 0.065), (0.5, 0.125), (0.455, 0.22), (0.35, 0.15)], LIGHT)),
        _L([(0.5, 0.13), (0.5, 0.95)], 0.018),
        *[_D(0.5, y, 0.016, SEAM) for y in (0.27, 0.42, 0.57, 0.72, 0.87)],
        _L([(0.33, 0.3), (0.42, 0.3), (0.42, 0.41), (0.33, 0.41), (0.33, 0.3)], 0.014)]
    s["blouse"] = [
        *_sym(_E(0.25, 0.25, 0.125, 0.12, n=20)),
        _P(_mirror([(0.5, 0.36), (0.4, 0.12), (0.31, 0.14), (0.3, 0.3), (0.23, 0.56),
                    (0.15, 0.89), (0.24, 0.93), (0.32, 0.9), (0.41, 0.94), (0.5, 0.91)])),
        _P([(0.4, 0.12), (0.6, 0.12), (0.5, 0.36)], LINING),
        _L([(0.4, 0.12), (0.5, 0.36), (0.6, 0.12)], 0.022, DARK),
        *_sym(_L([(0.14, 0.3), (0.2, 0.36), (0.28, 0.37)], 0.03, DARK),
              _L([(0.19, 0.18), (0.2, 0.31)], 0.012), _L([(0.25, 0.15), (0.26, 0.34)], 0.012))]
    s["sweater"] = [
        _P(_mirror([(0.5, 0.165), (0.42, 0.145), (0.37, 0.1), (0.22, 0.12), (0.13, 0.2),
                    (0.1, 0.5), (0.11, 0.86), (0.24, 0.86), (0.245, 0.42), (0.25, 0.86),
                    (0.5, 0.86)])),
        _P([(0.375, 0.105), (0.625, 0.105), (0.58, 0.14), (0.5, 0.155), (0.42, 0.14)], LINING),
        _L([(0.37, 0.1), (0.42, 0.15), (0.5, 0.17), (0.58, 0.15), (0.63, 0.1)], 0.045, RIB),
        _P([(0.25, 0.8), (0.75, 0.8), (0.735, 0.91), (0.265, 0.91)], RIB),
        *_sym(_P([(0.108, 0.8), (0.242, 0.8), (0.232, 0.91), (0.118, 0.91)], RIB)),
        *_sym(_L([(0.245, 0.45), (0.25, 0.79)], 0.014))]
    s["tank"] = [
        _P(_mirror([(0.5, 0.37), (0.455, 0.35), (0.415, 0.29), (0.395, 0.2), (0.39, 0.07),
                    (0.315, 0.07), (0.305, 0.2), (0.285, 0.3), (0.245, 0.38), (0.25, 0.65),
                    (0.24, 0.93), (0.5, 0.93)])),
        _L([(0.39, 0.07), (0.395, 0.2), (0.415, 0.29), (0.455, 0.35), (0.5, 0.37), (0.545, 0.35),
            (0.585, 0.29), (0.605, 0.2), (0.61, 0.07)], 0.02, DARK),
        *_sym(_L([(0.315, 0.07), (0.305, 0.2), (0.285, 0.3), (0.245, 0.38)], 0.02, DARK)),
        _L([(0.245, 0.89), (0.755, 0.89)])]
    s["jacket"] = [
        _P(_mirror([(0.5, 0.1), (0.4, 0.08), (0.2, 0.12), (0.13, 0.2), (0.05, 0.76),
                    (0.17, 0.79), (0.25, 0.38), (0.23, 0.8), (0.5, 0.8)])),
        *_sym(_P([(0.055, 0.72), (0.175, 0.75), (0.165, 0.81), (0.05, 0.78)], RIB)),
        *_sym(_P([(0.228, 0.76), (0.46, 0.76), (0.46, 0.84), (0.235, 0.84)], RIB)),
        _P([(0.45, 0.1), (0.55, 0.1), (0.55, 0.84), (0.45, 0.84)], INNER),
        *_sym(_P([(0.38, 0.06), (0.45, 0.09), (0.455, 0.2), (0.32, 0.16)], DARK),
              _L([(0.455, 0.2), (0.455, 0.76)], 0.02, METAL),
              _L([(0.29, 0.34), (0.4, 0.34), (0.4, 0.45), (0.29, 0.45), (0.29, 0.34)], 0.014),
              _L([(0.29, 0.34), (0.4, 0.34)], 0.03, DARK))]
    s["coat"] = [
        _P(_mirror([(0.5, 0.22), (0.42, 0.05), (0.3, 0.08), (0.25, 0.12), (0.19, 0.53),
                    (0.29, 0.55), (0.32, 0.28), (0.31, 0.55), (0.27, 0.97), (0.5, 0.97)])),
        _P([(0.42, 0.05), (0.58, 0.05), (0.5, 0.22)], INNER),
        *_sym(_P([(0.42, 0.045), (0.5, 0.22), (0.45, 0.33), (0.35, 0.16), (0.37, 0.1)], LIGHT),
              _P([(0.192, 0.49), (0.292, 0.51), (0.29, 0.56), (0.186, 0.54)], DARK),
              _L([(0.34, 0.62), (0.38, 0.72)], 0.02, SEAM)),
        _P([(0.305, 0.44), (0.695, 0.44), (0.695, 0.49), (0.305, 0.49)], DARK),
        _L([(0.53, 0.33), (0.53, 0.44)], 0.016), _L([(0.53, 0.49), (0.53, 0.97)], 0.016),
        *[_D(x, y, 0.02, BLACK) for y in (0.36, 0.57, 0.68) for x in (0.45, 0.61)]]
    s["blazer"] = [
        _P(_mirror([(0.5, 0.07), (0.4, 0.06), (0.21, 0.1), (0.16, 0.15), (0.08, 0.81),
                    (0.19, 0.84), (0.28, 0.38), (0.3, 0.55), (0.28, 0.86), (0.38, 0.9),
                    (0.46, 0.88), (0.5, 0.66)])),
        _P([(0.4, 0.06), (0.6, 0.06), (0.5, 0.56)], INNER),
        _P([(0.5, 0.63), (0.54, 0.9), (0.46, 0.9)], BG),
        *_sym(_P([(0.395, 0.055), (0.5, 0.55), (0.43, 0.4), (0.33, 0.24), (0.36, 0.2),
                  (0.33, 0.17), (0.37, 0.07)], LIGHT),
              _P([(0.088, 0.76), (0.19, 0.79), (0.188, 0.84), (0.08, 0.81)], DARK),
              _L([(0.3, 0.68), (0.42, 0.68)], 0.025, DARK),
              _L([(0.43, 0.16), (0.5, 0.2)], 0.02, LIGHT)),
        _L([(0.64, 0.38), (0.72, 0.37)], 0.02, DARK),
        _D(0.5, 0.6, 0.022, BLACK), _D(0.5, 0.71, 0.022, BLACK)]
    s["jeans"] = [
        _P(_mirror([(0.5, 0.04), (0.3, 0.04), (0.275, 0.3), (0.31, 0.97), (0.46, 0.97),
                    (0.5, 0.33)])),
        _P([(0.3, 0.04), (0.7, 0.04), (0.7, 0.1), (0.3, 0.1)], DARK),
        *_sym(_L([(0.39, 0.1), (0.37, 0.16), (0.32, 0.19), (0.278, 0.2)], 0.016, STITCH),
              _L([(0.34, 0.04), (0.34, 0.12)], 0.02, DARK),
              _L([(0.46, 0.94), (0.308, 0.94)], 0.016, STITCH)),
        _L([(0.5, 0.1), (0.5, 0.27)], 0.016, STITCH),
        _L([(0.5, 0.27), (0.54, 0.25), (0.545, 0.1)], 0.016, STITCH),
        _D(0.5, 0.07, 0.02, METAL)]
    s["trousers"] = [
        _P(_mirror([(0.5, 0.04), (0.285, 0.04), (0.26, 0.28), (0.225, 0.97), (0.482, 0.97),
                    (0.5, 0.31)])),
        _P([(0.285, 0.04), (0.715, 0.04), (0.715, 0.09), (0.285, 0.09)], DARK),
        *_sym(_L([(0.36, 0.09), (0.355, 0.97)], 0.016),
              _L([(0.31, 0.09), (0.28, 0.22)], 0.016),
              _L([(0.32, 0.035), (0.32, 0.105)], 0.022, LIGHT),
              _L([(0.44, 0.035), (0.44, 0.105)], 0.022, LIGHT)),
        _L([(0.5, 0.09), (0.5, 0.28)], 0.014)]
    s["shorts"] = [
        _P(_mirror([(0.5, 0.2), (0.255, 0.2), (0.2, 0.45), (0.15, 0.8), (0.465, 0.83),
                    (0.5, 0.55)])),
        _P([(0.255, 0.2), (0.745, 0.2), (0.75, 0.27), (0.25, 0.27)], DARK),
        *_sym(_P([(0.157, 0.75), (0.47, 0.78), (0.465, 0.83), (0.15, 0.8)], DARK),
              _L([(0.4, 0.27), (0.36, 0.34), (0.23, 0.37)], 0.016)),
        _L([(0.5, 0.27), (0.5, 0.47)], 0.016)]
    s["skirt"] = [
        _P([(0.34, 0.12), (0.66, 0.12), (0.87, 0.87), (0.7, 0.9), (0.5, 0.91), (0.3, 0.9),
            (0.13, 0.87)]),
        _P([(0.34, 0.12), (0.66, 0.12), (0.67, 0.185), (0.33, 0.185)], DARK),
        *_sym(_L([(0.43, 0.19), (0.36, 0.89)], 0.014), _L([(0.36, 0.19), (0.22, 0.87)], 0.014)),
        _D(0.62, 0.152, 0.018, METAL)]
    s["dress"] = [
        _P(_mirror([(0.5, 0.19), (0.42, 0.15), (0.395, 0.04), (0.33, 0.04), (0.315, 0.14),
                    (0.3, 0.25), (0.34, 0.4), (0.15, 0.93), (0.32, 0.96), (0.5, 0.97)])),
        _P([(0.338, 0.385), (0.662, 0.385), (0.66, 0.43), (0.34, 0.43)], DARK),
        *_sym(_L([(0.43, 0.44), (0.35, 0.95)], 0.014), _L([(0.38, 0.44), (0.22, 0.93)], 0.014),
              _L([(0.395, 0.04), (0.42, 0.15), (0.5, 0.19)], 0.02, DARK))]
    s["sneakers"] = [
        _P([(0.1, 0.62), (0.1, 0.54), (0.17, 0.48), (0.33, 0.42), (0.45, 0.33), (0.5, 0.24),
            (0.57, 0.25), (0.61, 0.34), (0.74, 0.35), (0.84, 0.28), (0.9, 0.36), (0.92, 0.62)]),
        _P([(0.83, 0.29), (0.9, 0.37), (0.915, 0.5), (0.85, 0.48)], DARK),
        _L([(0.3, 0.44), (0.46, 0.33), (0.52, 0.27)], 0.05, DARK),
        *[_L([(0.31 + 0.06 * i, 0.45 - 0.045 * i), (0.35 + 0.06 * i, 0.49 - 0.045 * i)],
             0.03, WHITE) for i in range(3)],
        _L([(0.38, 0.56), (0.55, 0.54), (0.74, 0.45)], 0.045, LIGHT),
        _P([(0.06, 0.6), (0.93, 0.6), (0.945, 0.7), (0.9, 0.745), (0.12, 0.745), (0.065, 0.7),
            (0.052, 0.64)], WHITE),
        _L([(0.08, 0.685), (0.92, 0.685)], 0.016, GREY)]
    s["boots"] = [
        _P([(0.5, 0.04), (0.78, 0.04), (0.8, 0.5), (0.83, 0.84), (0.12, 0.84), (0.09, 0.78),
            (0.12, 0.7), (0.26, 0.64), (0.44, 0.58), (0.5, 0.45)]),
        _P([(0.5, 0.04), (0.78, 0.04), (0.782, 0.11), (0.5, 0.11)], DARK),
        _L([(0.73, 0.12), (0.75, 0.7)], 0.016),
        _L([(0.15, 0.72), (0.26, 0.67), (0.42, 0.63)], 0.014),
        _P([(0.085, 0.81), (0.845, 0.81), (0.845, 0.87), (0.1, 0.87)], BLACK),
        _P([(0.63, 0.86), (0.845, 0.86), (0.83, 0.95), (0.65, 0.95)], BLACK)]
    s["heels"] = [
        _P([(0.755, 0.53), (0.84, 0.51), (0.8, 0.93), (0.775, 0.93)], DARK),
        _P([(0.04, 0.8), (0.12, 0.72), (0.26, 0.66), (0.34, 0.68), (0.46, 0.64), (0.6, 0.54),
            (0.72, 0.44), (0.8, 0.35), (0.85, 0.37), (0.85, 0.52), (0.78, 0.56), (0.62, 0.62),
            (0.46, 0.73), (0.3, 0.8), (0.15, 0.83), (0.05, 0.83)]),
        _L([(0.05, 0.83), (0.15, 0.828), (0.3, 0.8), (0.46, 0.73), (0.62, 0.62), (0.78, 0.56)],
           0.024, BLACK),
        _P([(0.77, 0.91), (0.805, 0.91), (0.8, 0.96), (0.775, 0.96)], BLACK)]
    sole = (_arc(0.47, 0.3, 0.19, 0.22, 180, 360, 12)
            + [(0.64, 0.4), (0.6, 0.56), (0.61, 0.7)] + _arc(0.5, 0.78, 0.12, 0.15, 0, 180, 10)
            + [(0.37, 0.66), (0.31, 0.5), (0.28, 0.36)])
    s["sandals"] = [  # seen from above, toe up: a footbed and wide straps
        _P(sole, DARK), _P(_scale(sole, 0.48, 0.55, 0.86), LIGHT),
        _P([(0.24, 0.26), (0.7, 0.26), (0.71, 0.36), (0.25, 0.38)]),
        _P([(0.27, 0.45), (0.67, 0.43), (0.66, 0.52), (0.3, 0.54)]),
        _P([(0.36, 0.69), (0.64, 0.69), (0.64, 0.75), (0.36, 0.75)]),
        _D(0.62, 0.72, 0.03, METAL)]
    s["loafers"] = [
        _P([(0.05, 0.72), (0.07, 0.62), (0.16, 0.52), (0.32, 0.46), (0.48, 0.44), (0.56, 0.45),
            (0.7, 0.5), (0.86, 0.44), (0.93, 0.5), (0.94, 0.72)]),
        _P([(0.56, 0.455), (0.66, 0.44), (0.8, 0.43), (0.86, 0.445), (0.74, 0.49), (0.64, 0.49)],
           LINING),
        _P([(0.38, 0.47), (0.54, 0.45), (0.56, 0.53), (0.4, 0.56)], DARK),
        _L([(0.44, 0.5), (0.51, 0.49)], 0.018, BLACK),
        _L([(0.14, 0.56), (0.24, 0.49), (0.36, 0.46)], 0.014),
        _P([(0.05, 0.7), (0.94, 0.7), (0.94, 0.75), (0.08, 0.76)], BLACK),
        _P([(0.76, 0.74), (0.94, 0.74), (0.93, 0.81), (0.77, 0.81)], BLACK)]
    s["handbag"] = [
        _L([(0.32, 0.42), (0.33, 0.26), (0.4, 0.17), (0.5, 0.15), (0.6, 0.17), (0.67, 0.26),
            (0.68, 0.42)], 0.05, DARK),
        _P([(0.22, 0.4), (0.78, 0.4), (0.86, 0.85), (0.82, 0.9), (0.18, 0.9), (0.14, 0.85)]),
        _P([(0.22, 0.4), (0.78, 0.4), (0.8, 0.54), (0.5, 0.63), (0.2, 0.54)], DARK),
        _D(0.5, 0.61, 0.035, METAL),
        _D(0.32, 0.42, 0.025, METAL), _D(0.68, 0.42, 0.025, METAL)]
    s["backpack"] = [
        *_sym(_L([(0.3, 0.2), (0.18, 0.38), (0.17, 0.78), (0.24, 0.88)], 0.055, DARK)),
        _L([(0.44, 0.15), (0.45, 0.07), (0.55, 0.07), (0.56, 0.15)], 0.03, DARK),
        _P(_mirror([(0.5, 0.12), *_arc(0.5, 0.36, 0.27, 0.24, 260, 180, 6)[1:],
                    (0.23, 0.87), (0.28, 0.93), (0.5, 0.93)])),
        _P([(0.3, 0.56), (0.7, 0.56), (0.72, 0.84), (0.67, 0.89), (0.33, 0.89), (0.28, 0.84)],
           DARK),
        _L(_arc(0.5, 0.36, 0.22, 0.19, 190, 350, 9), 0.016),
        _L([(0.3, 0.62), (0.7, 0.62)], 0.016),
        _D(0.31, 0.34, 0.022, METAL), _D(0.66, 0.62, 0.022, METAL)]
    s["clutch"] = [
        _P([(0.08, 0.34), (0.92, 0.34), (0.92, 0.66), (0.89, 0.69), (0.11, 0.69), (0.08, 0.66)]),
        _P([(0.08, 0.34), (0.92, 0.34), (0.5, 0.6)], DARK),
        _D(0.5, 0.57, 0.03, METAL)]
    s["tote"] = [
        _L(_arc(0.37, 0.36, 0.085, 0.25, 180, 360, 11), 0.035, DARK),
        _L(_arc(0.63, 0.36, 0.085, 0.25, 180, 360, 11), 0.035, DARK),
        _P([(0.14, 0.34), (0.86, 0.34), (0.78, 0.92), (0.22, 0.92)]),
        _L([(0.15, 0.41), (0.85, 0.41)], 0.016)]
    s["hat"] = [
        _E(0.5, 0.66, 0.45, 0.085),
        _P([(0.28, 0.66), (0.29, 0.4), (0.33, 0.3), (0.42, 0.26), (0.5, 0.3), (0.58, 0.26),
            (0.67, 0.3), (0.71, 0.4), (0.72, 0.66)]),
        _P([(0.283, 0.56), (0.717, 0.56), (0.72, 0.65), (0.28, 0.65)], DARK),
        _L([(0.5, 0.31), (0.5, 0.42)], 0.014)]
    lens = [(0.1, 0.4), (0.46, 0.4), (0.45, 0.55), (0.39, 0.66), (0.2, 0.66), (0.12, 0.56)]
    s["sunglasses"] = [
        _L([(0.44, 0.45), (0.5, 0.42), (0.56, 0.45)], 0.04, MAIN),
        *_sym(_P(lens), _P(_scale(lens, 0.285, 0.52, 0.78), BLACK),
              _L([(0.11, 0.43), (0.04, 0.41)], 0.035, MAIN),
              _L([(0.19, 0.48), (0.24, 0.45)], 0.02, GREY))]
    s["watch"] = [
        _P([(0.42, 0.06), (0.45, 0.04), (0.55, 0.04), (0.58, 0.06), (0.58, 0.96), (0.42, 0.96)]),
        _L([(0.4, 0.12), (0.6, 0.12), (0.6, 0.19), (0.4, 0.19), (0.4, 0.12)], 0.022, METAL),
        *[_D(0.5, y, 0.013, BLACK) for y in (0.78, 0.84, 0.9)],
        _P([(0.7, 0.47), (0.75, 0.47), (0.75, 0.53), (0.7, 0.53)], METAL),
        _E(0.5, 0.5, 0.22, 0.22, METAL, n=28), _E(0.5, 0.5, 0.175, 0.175, WHITE, n=28),
        *[_L([(0.5 + 0.16 * c, 0.5 + 0.16 * s_), (0.5 + 0.13 * c, 0.5 + 0.13 * s_)], 0.016,
             BLACK) for c, s_ in ((0, -1), (1, 0), (0, 1), (-1, 0))],
        _L([(0.5, 0.5), (0.5, 0.38)], 0.022, BLACK), _L([(0.5, 0.5), (0.58, 0.54)], 0.022, BLACK)]
    chain = [(0.5 - 0.31 * math.cos(t), 0.1 + 0.5 * math.sin(t)) for t in np.linspace(0, np.pi, 19)]
    s["necklace"] = [
        _L(chain, 0.04, MAIN),
        *[_D(x, y, 0.018, METAL) for x, y in chain[2:-2:3]],
        _D(0.19, 0.1, 0.025, METAL), _D(0.81, 0.1, 0.025, METAL),
        _P([(0.5, 0.6), *_arc(0.5, 0.76, 0.09, 0.11, -50, 230, 16)]),
        _D(0.5, 0.62, 0.03, METAL), _D(0.47, 0.73, 0.022, LIGHT)]
    s["scarf"] = [
        _P([(0.58, 0.26), (0.71, 0.27), (0.67, 0.74), (0.54, 0.72)]),
        *[_L([(0.545 + 0.03 * i, 0.72), (0.54 + 0.03 * i, 0.79)], 0.014, DARK) for i in range(5)],
        _L([(0.33, 0.32), (0.34, 0.15), (0.5, 0.08), (0.66, 0.15), (0.67, 0.3)], 0.11, MAIN),
        _P([(0.28, 0.25), (0.41, 0.25), (0.44, 0.83), (0.3, 0.85)]),
        *[_L([(0.305 + 0.032 * i, 0.85 - 0.005 * i), (0.305 + 0.032 * i, 0.92)], 0.014, DARK)
          for i in range(5)],
        _L([(0.3, 0.8), (0.44, 0.78)], 0.014), _L([(0.54, 0.68), (0.67, 0.7)], 0.014),
        _L([(0.28, 0.26), (0.42, 0.26)], 0.022, DARK)]
    s["belt"] = [
        _P([(0.08, 0.43), (0.89, 0.43), (0.96, 0.5), (0.89, 0.57), (0.08, 0.57)]),
        *[_D(x, 0.5, 0.014, BLACK) for x in (0.7, 0.76, 0.82)],
        _P([(0.24, 0.41), (0.29, 0.41), (0.29, 0.59), (0.24, 0.59)], DARK),
        _L([(0.05, 0.36), (0.19, 0.36), (0.19, 0.64), (0.05, 0.64), (0.05, 0.36)], 0.032, METAL),
        _L([(0.05, 0.5), (0.19, 0.5)], 0.022, METAL)]
    return s


class _Shape:
    """A compiled drawing: every point in one array (jittered at once) plus the parts."""

    def __init__(self, parts: list) -> None:
        pts = np.array([p for _, part, _, _ in parts for p in part], dtype=np.float64)
        lo, hi = pts.min(0), pts.max(0)
        k = _FIT / float((hi - lo).max())
        self.points = (pts - (lo + hi) / 2) * k + 0.5
        self.bbox = (0.5 - (hi - lo) * k / 2, 0.5 + (hi - lo) * k / 2)  # canonical (lo, hi)
        self.parts = []
        i = 0
        for kind, part, lab, w in parts:
            self.parts.append((kind, i, i + len(part), lab, w * k))
            i += len(part)
        self.centred = self.points - 0.5
        self.swapped = 2 * np.pi * self.points[:, ::-1]  # the warp moves x with y and y with x
        self.has_rib = any(lab == RIB for _, _, lab, _ in parts)


_SHAPES = {name: _Shape(parts) for name, parts in _shape_specs().items()}


def _subcategory(item: Item) -> str:
    if item.subcategory in _SHAPES:
        return item.subcategory
    return SUBCATEGORIES.get(item.category, ("t-shirt",))[0]


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


def _outline(lab: np.ndarray, thick: int) -> np.ndarray:
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


def _draw(item: Item, seed: int, h: int, w: int, affine: np.ndarray,
          coarse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Render an item on an (h, w) canvas; ``affine`` (2, 3) maps unit points to pixels.

    ``coarse`` rounds the pattern scale to a quarter octave, so that scenes (where every item
    has its own scale) reuse a few cached pattern tiles.

    Returns the colour (h, w, 3) uint8 (white where nothing is drawn) and the labels (h, w).
    """
    shape = _SHAPES[_subcategory(item)]
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
        if kind == _POLY:
            draw.polygon(xy[i:j].ravel().tolist(), fill=lab)
        elif kind == _LINE:
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
    f *= _outline(lab, max(1, round(scale / 96)))
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
    return _draw(item, seed, size, size, _product_affine(size))[0]


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
        out[k] = _draw(item, seed, size, size, affine)[0]
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


_BACKGROUNDS = {"indoor": _indoor, "street": _street, "busy": _busy}


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
    shop, lab = _draw(item, seed, size, size, _product_affine(size))
    rng = np.random.default_rng(photo_seed)
    kind = ("indoor", "street", "busy")[int(rng.integers(3))]
    img = _BACKGROUNDS[kind](rng, size, size)

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
        colour = (_SKIN[rng.integers(len(_SKIN))] if rng.random() < 0.5
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


# ----------------------------------------------------------------------------------------------
# Scenes (chapter 5): a figure wearing the outfit. Body units: x across the figure's width,
# y down its height; the figure's box is twice as tall as wide.

_SKIN = np.array([(241, 205, 180), (224, 172, 138), (198, 134, 98), (160, 104, 70),
                  (110, 72, 50)], np.float32)
_HAIR = np.array([(30, 25, 22), (85, 55, 35), (160, 120, 70), (210, 180, 120), (120, 40, 25),
                  (70, 70, 70)], np.float32)
_F_SKIN, _F_HAIR, _F_TOP, _F_BOTTOM, _F_DARK = 1, 2, 3, 4, 5


def _figure_parts(long_hair: bool) -> list:
    arm = [(0.31, 0.19), (0.245, 0.33), (0.185, 0.46)]
    leg = [(0.36, 0.47), (0.495, 0.47), (0.478, 0.945), (0.392, 0.945)]
    hair = _arc(0.5, 0.075, 0.105, 0.058, 180, 360, 12) + [(0.6, 0.08), (0.5, 0.055), (0.4, 0.08)]
    back = [(0.37, 0.06), (0.63, 0.06), (0.66, 0.22), (0.34, 0.22)]
    return ([_P(back, _F_HAIR)] if long_hair else []) + [
        *_sym(_L(arm, 0.085, _F_SKIN), _E(0.18, 0.49, 0.05, 0.026, _F_SKIN, n=12),
              _P(leg, _F_SKIN), _E(0.42, 0.958, 0.075, 0.017, _F_SKIN, n=12)),
        _P([(0.35, 0.41), (0.65, 0.41), (0.665, 0.545), (0.51, 0.55), (0.5, 0.52), (0.49, 0.55),
            (0.335, 0.545)], _F_BOTTOM),
        _P([(0.45, 0.12), (0.55, 0.12), (0.555, 0.19), (0.445, 0.19)], _F_SKIN),
        _P([(0.31, 0.17), (0.69, 0.17), (0.66, 0.3), (0.635, 0.4), (0.65, 0.45), (0.35, 0.45),
            (0.365, 0.4), (0.34, 0.3)], _F_TOP),
        _E(0.5, 0.085, 0.095, 0.052, _F_SKIN), _P(hair, _F_HAIR),
        _D(0.46, 0.088, 0.012, _F_DARK), _D(0.54, 0.088, 0.012, _F_DARK)]


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
    (ulo, vlo), (uhi, vhi) = _SHAPES[sub].bbox
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
    rgb, lab = _draw(item, seed, int(y1 - y0), int(x1 - x0), local, coarse=True)
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
    scene = _BACKGROUNDS[kind](rng, size, size)
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
        if kind_ == _POLY:
            draw.polygon(xy.ravel().tolist(), fill=lab)
        elif kind_ == _LINE:
            draw.line(xy.ravel().tolist(), fill=lab, width=max(1, round(width * fw)), joint="curve")
        else:
            rad = max(0.6, width * fw)
            draw.ellipse((xy[0, 0] - rad, xy[0, 1] - rad, xy[0, 0] + rad, xy[0, 1] + rad), fill=lab)
    lab = np.frombuffer(canvas.tobytes(), np.uint8).reshape(size, size)
    lut = np.zeros((6, 3), np.float32)
    lut[_F_SKIN], lut[_F_HAIR] = _SKIN[rng.integers(len(_SKIN))], _HAIR[rng.integers(len(_HAIR))]
    lut[_F_TOP], lut[_F_BOTTOM], lut[_F_DARK] = (200, 200, 196), (80, 80, 84), (30, 25, 25)
    if any(CATEGORY_OF.get(_subcategory(item)) in ("top", "dress") for item in items):
        lut[_F_TOP] = lut[_F_SKIN]  # bare shoulders and neckline, not the neutral base layer
    body = lut.take(lab, axis=0) * _outline(lab, 1)[..., None]
    scene = np.where((lab > 0)[..., None], body, scene).astype(np.uint8)

    # the items, back to front
    boxes: list[Box] = [(0.0, 0.0, 0.0, 0.0)] * len(items)
    order = sorted(range(len(items)), key=lambda k: _Z.get(
        _subcategory(items[k]), _Z.get(items[k].category, 5)))
    layered = any(CATEGORY_OF.get(_subcategory(item)) == "outerwear" for item in items)
    for k in order:
        sub = _subcategory(items[k])
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
