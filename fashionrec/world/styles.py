"""FashionWorld's latent styles and the coherence rules no single attribute reveals.

Each style prefers some colours, patterns, materials and sub-categories, has a formality band,
and its own odds of a dress, a layer, a bag and accessories. On top of the styles, three
coherence rules score an item against the items already in the outfit (see ``model.py``):
at most one loud pattern, formality within a band, and palette harmony (``HARMONY``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .vocab import COLORS


@dataclass(frozen=True)
class Style:
    """A latent style: preferred attributes (weight ``favour`` over the rest) and slot odds."""

    name: str
    colors: tuple[str, ...]
    patterns: tuple[str, ...]
    materials: tuple[str, ...]
    subcategories: tuple[str, ...]
    formality: float  # centre of the style's formality band, 0..1
    p_dress: float  # P(dress instead of top + bottom)
    p_outer: float  # P(an outerwear layer)
    p_bag: float  # P(a bag)
    p_acc: tuple[float, float, float]  # P(0, 1, 2 accessories)


STYLES: tuple[Style, ...] = (
    Style("casual", ("blue", "light-blue", "white", "grey", "navy"), ("solid", "stripes"),
          ("cotton", "denim"), ("t-shirt", "sweater", "jeans", "shorts", "sneakers", "backpack", "hat", "jacket"),
          0.25, 0.05, 0.3, 0.4, (0.4, 0.45, 0.15)),
    Style("business", ("navy", "black", "grey", "white", "light-blue"), ("solid", "stripes", "checks"),
          ("wool", "cotton", "silk"), ("shirt", "blazer", "trousers", "loafers", "handbag", "watch", "belt", "coat"),
          0.85, 0.1, 0.7, 0.7, (0.2, 0.5, 0.3)),
    Style("sporty", ("black", "white", "red", "yellow", "blue"), ("solid", "stripes"),
          ("cotton", "knit"), ("t-shirt", "tank", "shorts", "sneakers", "backpack", "hat", "watch", "jacket"),
          0.1, 0.02, 0.25, 0.5, (0.35, 0.45, 0.2)),
    Style("boho", ("beige", "brown", "orange", "olive", "pink"), ("floral", "dots"),
          ("cotton", "silk", "knit"), ("blouse", "dress", "skirt", "sandals", "tote", "necklace", "hat", "scarf"),
          0.35, 0.45, 0.2, 0.6, (0.15, 0.45, 0.4)),
    Style("street", ("black", "grey", "red", "olive", "yellow"), ("animal", "checks", "solid"),
          ("denim", "leather", "cotton"), ("t-shirt", "sweater", "jacket", "jeans", "boots", "backpack", "sunglasses", "hat"),
          0.3, 0.05, 0.6, 0.4, (0.3, 0.45, 0.25)),
    Style("minimal", ("black", "white", "grey", "beige"), ("solid",),
          ("wool", "cotton", "silk"), ("shirt", "sweater", "coat", "trousers", "loafers", "tote", "watch", "dress"),
          0.6, 0.2, 0.45, 0.5, (0.5, 0.4, 0.1)),
    Style("preppy", ("navy", "white", "red", "green", "pink"), ("stripes", "checks", "dots"),
          ("cotton", "knit", "wool"), ("shirt", "sweater", "blazer", "skirt", "trousers", "loafers", "handbag", "belt"),
          0.6, 0.15, 0.5, 0.6, (0.3, 0.5, 0.2)),
    Style("evening", ("black", "burgundy", "red", "purple", "navy"), ("solid", "dots"),
          ("silk", "leather"), ("blouse", "dress", "skirt", "heels", "clutch", "necklace", "watch", "sunglasses"),
          0.95, 0.6, 0.3, 0.9, (0.1, 0.5, 0.4)),
)
STYLE_NAMES: tuple[str, ...] = tuple(s.name for s in STYLES)

NEUTRALS = ("black", "white", "grey", "beige", "navy")
CLASHES = (("red", "pink"), ("red", "orange"), ("orange", "purple"), ("green", "red"),
           ("pink", "orange"), ("yellow", "purple"), ("brown", "black"), ("navy", "black"),
           ("olive", "purple"), ("burgundy", "orange"), ("yellow", "pink"), ("green", "blue"))


def harmony_matrix() -> np.ndarray:
    """(16, 16) palette harmony: neutrals go with anything (+0.5), clashing pairs score -1.5."""
    n = len(COLORS)
    h = np.zeros((n, n))
    idx = {c: i for i, c in enumerate(COLORS)}
    for c in NEUTRALS:
        h[idx[c], :] = h[:, idx[c]] = 0.5
    for a, b in CLASHES:
        h[idx[a], idx[b]] = h[idx[b], idx[a]] = -1.5
    np.fill_diagonal(h, 0.5)
    return h


HARMONY = harmony_matrix()


def preference_table(attr: str, values: tuple[str, ...], favour: float) -> np.ndarray:
    """(n_styles, len(values)) log-weights: log(favour) where the style prefers the value, else 0.

    ``attr`` names the Style field: "colors", "patterns", "materials" or "subcategories".
    """
    table = np.zeros((len(STYLES), len(values)))
    for s, style in enumerate(STYLES):
        for v in getattr(style, attr):
            table[s, values.index(v)] = np.log(favour)
    return table
