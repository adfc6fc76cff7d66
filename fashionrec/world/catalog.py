"""FashionWorld's catalog: item attributes drawn from the styles, and noisy Polyvore-like texts."""

from __future__ import annotations

import numpy as np

from fashionrec.records import Item
from .styles import STYLES, preference_table
from .vocab import CATEGORIES, COLORS, MATERIALS, PATTERNS, SUBCATEGORIES

# Share of the item pool per category (tops and shoes are the most common on Polyvore).
CATEGORY_SHARE = {"top": 0.22, "outerwear": 0.09, "bottom": 0.17, "dress": 0.08,
                  "shoes": 0.17, "bag": 0.1, "accessory": 0.17}

# Where a sub-category sits on the casual (0) … formal (1) axis before its style shifts it.
BASE_FORMALITY = {
    "t-shirt": 0.15, "shirt": 0.65, "blouse": 0.6, "sweater": 0.4, "tank": 0.1,
    "jacket": 0.35, "coat": 0.7, "blazer": 0.85, "jeans": 0.25, "trousers": 0.7, "shorts": 0.1,
    "skirt": 0.55, "dress": 0.7, "sneakers": 0.1, "boots": 0.45, "heels": 0.9, "sandals": 0.25,
    "loafers": 0.7, "handbag": 0.7, "backpack": 0.15, "clutch": 0.9, "tote": 0.4, "hat": 0.3,
    "sunglasses": 0.4, "watch": 0.7, "necklace": 0.75, "scarf": 0.5, "belt": 0.6,
}

# Materials that make sense for a sub-category (the style chooses among them).
ALLOWED_MATERIALS = {
    "jeans": ("denim",), "shorts": ("denim", "cotton"), "skirt": ("denim", "cotton", "silk", "wool", "leather"),
    "trousers": ("cotton", "wool", "silk"), "jacket": ("denim", "leather", "cotton", "wool"),
    "coat": ("wool", "leather", "cotton"), "blazer": ("wool", "cotton"), "sweater": ("knit", "wool"),
    "t-shirt": ("cotton", "knit"), "tank": ("cotton", "knit", "silk"), "shirt": ("cotton", "silk", "denim"),
    "blouse": ("silk", "cotton"), "dress": ("cotton", "silk", "knit", "wool"),
    "sneakers": ("cotton", "leather", "knit"), "boots": ("leather",), "heels": ("leather", "silk"),
    "sandals": ("leather", "cotton"), "loafers": ("leather",), "handbag": ("leather", "cotton"),
    "backpack": ("cotton", "leather", "denim"), "clutch": ("leather", "silk"), "tote": ("cotton", "leather", "denim"),
    "hat": ("wool", "cotton", "knit"), "sunglasses": ("leather",), "watch": ("leather",),
    "necklace": ("leather", "silk"), "scarf": ("silk", "wool", "knit", "cotton"), "belt": ("leather",),
}
SOLID_ONLY = frozenset({"sunglasses", "watch", "belt", "necklace"})

COLOR_WORDS = {"navy": ("navy", "dark blue"), "grey": ("grey", "gray"), "light-blue": ("light blue", "sky blue"),
               "beige": ("beige", "camel"), "burgundy": ("burgundy", "wine")}
PATTERN_WORDS = {"solid": ("plain", "solid"), "stripes": ("striped", "stripe"), "dots": ("polka dot", "dotted"),
                 "checks": ("checked", "plaid", "tartan"), "floral": ("floral", "flower print"),
                 "animal": ("leopard", "animal print")}
MATERIAL_WORDS = {"knit": ("knit", "knitted"), "leather": ("leather", "faux leather"), "silk": ("silk", "satin"),
                  "wool": ("wool", "woolen")}
NOUN_WORDS = {"t-shirt": ("tee", "t-shirt", "top"), "shirt": ("shirt", "button-down shirt"), "blouse": ("blouse",),
              "sweater": ("sweater", "jumper", "pullover"), "tank": ("tank top", "cami"),
              "coat": ("coat", "overcoat"), "jeans": ("jeans", "skinny jeans"), "trousers": ("trousers", "pants"),
              "skirt": ("skirt", "mini skirt"), "dress": ("dress", "midi dress"), "sneakers": ("sneakers", "trainers"),
              "boots": ("boots", "ankle boots"), "heels": ("heels", "pumps"), "handbag": ("handbag", "shoulder bag"),
              "clutch": ("clutch", "evening bag"), "tote": ("tote", "tote bag"), "sunglasses": ("sunglasses", "shades"),
              "necklace": ("necklace", "pendant")}
STYLE_PHRASES = {"casual": ("casual", "weekend basics"), "business": ("office", "workwear"),
                 "sporty": ("athletic", "gym"), "boho": ("bohemian", "festival"), "street": ("streetwear", "urban"),
                 "minimal": ("minimalist", "classic"), "preppy": ("preppy", "collegiate"),
                 "evening": ("party", "cocktail")}
JUNK = ("new", "sale", "zara", "mango", "topshop", "asos", "h&m", "uniqlo", "free shipping", "size s", "2017")


def sample_items(n: int, rng: np.random.Generator, favour: float = 6.0) -> tuple[list[dict], np.ndarray]:
    """Draw ``n`` items' attributes, each from a random source style.

    Returns the attribute dicts and each item's source style index (the catalog's hidden
    structure; outfits are drawn later by ``model.OutfitModel``).
    """
    pref = {a: np.exp(preference_table(a, v, favour)) for a, v in
            (("colors", COLORS), ("patterns", PATTERNS), ("materials", MATERIALS))}
    sub_names = [s for c in CATEGORIES for s in SUBCATEGORIES[c]]
    pref_sub = np.exp(preference_table("subcategories", tuple(sub_names), favour))
    cats = rng.choice(len(CATEGORIES), size=n, p=np.array(list(CATEGORY_SHARE.values())))
    src = rng.integers(len(STYLES), size=n)
    attrs = []
    for cat_i, s in zip(cats, src):
        cat = CATEGORIES[cat_i]
        subs = SUBCATEGORIES[cat]
        w = np.array([pref_sub[s, sub_names.index(x)] for x in subs])
        sub = subs[rng.choice(len(subs), p=w / w.sum())]
        pc = pref["colors"][s] / pref["colors"][s].sum()
        c1 = rng.choice(len(COLORS), p=pc)
        colors = [COLORS[c1]]
        if rng.random() < 0.35:
            pc2 = pc.copy()
            pc2[c1] = 0
            colors.append(COLORS[rng.choice(len(COLORS), p=pc2 / pc2.sum())])
        if sub in SOLID_ONLY:
            pattern = "solid"
        else:
            pp = pref["patterns"][s]
            pattern = PATTERNS[rng.choice(len(PATTERNS), p=pp / pp.sum())]
        allowed = ALLOWED_MATERIALS[sub]
        pm = np.array([pref["materials"][s, MATERIALS.index(m)] for m in allowed])
        material = allowed[rng.choice(len(allowed), p=pm / pm.sum())]
        formality = float(np.clip(0.5 * STYLES[s].formality + 0.5 * BASE_FORMALITY[sub] + rng.normal(0, 0.08), 0, 1))
        attrs.append(dict(category=cat, subcategory=sub, colors=tuple(colors), pattern=pattern,
                          material=material, formality=round(formality, 3)))
    return attrs, src


def catalog_text(attrs: dict, style: str, rng: np.random.Generator) -> str:
    """A noisy shop title: synonyms, dropped words, brands/"sale" junk, and rare wrong colours."""

    def pick(options: tuple[str, ...]) -> str:
        return options[rng.integers(len(options))]

    words = []
    for c in attrs["colors"]:
        if rng.random() < 0.04:  # a rare wrong word
            c = COLORS[rng.integers(len(COLORS))]
        if rng.random() > 0.15:
            words.append(pick(COLOR_WORDS.get(c, (c,))))
    if attrs["pattern"] != "solid" or rng.random() < 0.2:
        if rng.random() > 0.15:
            words.append(pick(PATTERN_WORDS[attrs["pattern"]]))
    if rng.random() > 0.25:
        words.append(pick(MATERIAL_WORDS.get(attrs["material"], (attrs["material"],))))
    words.append(pick(NOUN_WORDS.get(attrs["subcategory"], (attrs["subcategory"],))))
    text = " ".join(words)
    if rng.random() < 0.35:
        text = f"{pick(JUNK[2:8])} {text}"
    if rng.random() < 0.7:
        text += f" — {pick(STYLE_PHRASES[style])}"
    if rng.random() < 0.3:
        text += f", {pick(JUNK)}"
    return text


def make_items(n: int, rng: np.random.Generator, favour: float = 6.0) -> tuple[list[Item], np.ndarray]:
    """``n`` catalog items with ids in a random order (ids reveal nothing) and their source styles."""
    attrs, src = sample_items(n, rng, favour)
    ids = rng.permutation(n)
    items = [Item(item_id=f"i{ids[k]:06d}", text=catalog_text(a, STYLES[src[k]].name, rng), **a)
             for k, a in enumerate(attrs)]
    return items, src
