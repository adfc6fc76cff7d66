"""FashionWorld's vocabulary: categories in Polyvore order, the colour palette, patterns, materials."""

from __future__ import annotations

# Coarse category (= outfit slot) -> sub-categories, in Polyvore order.
SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "top": ("t-shirt", "shirt", "blouse", "sweater", "tank"),
    "outerwear": ("jacket", "coat", "blazer"),
    "bottom": ("jeans", "trousers", "shorts", "skirt"),
    "dress": ("dress",),
    "shoes": ("sneakers", "boots", "heels", "sandals", "loafers"),
    "bag": ("handbag", "backpack", "clutch", "tote"),
    "accessory": ("hat", "sunglasses", "watch", "necklace", "scarf", "belt"),
}
CATEGORIES: tuple[str, ...] = tuple(SUBCATEGORIES)
SUBCATEGORY_LIST: tuple[str, ...] = tuple(s for subs in SUBCATEGORIES.values() for s in subs)
CATEGORY_OF: dict[str, str] = {s: c for c, subs in SUBCATEGORIES.items() for s in subs}

# Named palette (~16 colours) as RGB.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 28),
    "white": (236, 236, 230),
    "grey": (128, 128, 132),
    "navy": (28, 40, 92),
    "blue": (50, 105, 200),
    "light-blue": (150, 190, 230),
    "red": (200, 35, 40),
    "burgundy": (110, 25, 45),
    "pink": (235, 140, 175),
    "orange": (235, 125, 35),
    "yellow": (240, 205, 50),
    "green": (50, 140, 70),
    "olive": (110, 115, 50),
    "beige": (215, 195, 160),
    "brown": (120, 75, 40),
    "purple": (115, 60, 150),
}
COLORS: tuple[str, ...] = tuple(PALETTE)

PATTERNS: tuple[str, ...] = ("solid", "stripes", "dots", "checks", "floral", "animal")
LOUD_PATTERNS: frozenset[str] = frozenset({"checks", "floral", "animal"})
MATERIALS: tuple[str, ...] = ("cotton", "denim", "knit", "leather", "silk", "wool")
