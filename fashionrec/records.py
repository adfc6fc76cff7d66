"""Record types that flow through the whole library: data -> records -> datasets -> models -> metrics.

FashionWorld (``fashionrec.world``) and every real-data loader (``fashionrec.datasets``) produce
these same plain, typed, frozen records. Models and metrics depend only on them.

Evaluation records carry item ids but never ids that reveal the answer: FashionWorld item ids
are assigned in a random order, unrelated to outfits, styles or splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple[float, float, float, float]
"""A box in normalised image coordinates: (x0, y0, x1, y1), each in [0, 1]."""


@dataclass(frozen=True)
class Item:
    """One catalog item (a product on a white background).

    ``image`` is a file path for real data; FashionWorld leaves it empty and renders the
    image on request (``World.images``). Attribute fields are ``None`` where a real dataset
    does not have them.
    """

    item_id: str
    category: str  # coarse slot: top, outerwear, bottom, dress, shoes, bag, accessory
    subcategory: str  # e.g. "t-shirt", "jeans"
    text: str = ""  # noisy catalog text ("navy striped cotton tee — casual summer basics")
    colors: tuple[str, ...] = ()
    pattern: str | None = None
    material: str | None = None
    formality: float | None = None  # 0 = very casual … 1 = very formal
    image: str = ""


@dataclass(frozen=True)
class Outfit:
    """An ordered outfit: item ids in slot order (top, outerwear, bottom | dress, shoes, bag, accessories)."""

    outfit_id: str
    item_ids: tuple[str, ...]
    text: str = ""
    style: str | None = None  # FashionWorld's latent style; None for real data and noisy outfits


@dataclass(frozen=True)
class User:
    """A user with a taste (FashionWorld: a style mixture plus personal colour likes/dislikes)."""

    user_id: str
    style_weights: tuple[float, ...] = ()
    liked_colors: tuple[str, ...] = ()
    disliked_colors: tuple[str, ...] = ()


@dataclass(frozen=True)
class FITBQuestion:
    """Fill in the blank (Han et al. 2017, Sec. 4.2): choose the candidate that completes the outfit.

    ``context`` holds the outfit's item ids in slot order with ``None`` at the blank.
    """

    context: tuple[str | None, ...]
    candidates: tuple[str, ...]
    answer: int


@dataclass(frozen=True)
class CompatibilityExample:
    """An outfit with a label: 1 = compatible (a real outfit), 0 = a random combination."""

    item_ids: tuple[str, ...]
    label: int


@dataclass(frozen=True)
class RankingList:
    """One user's candidate (top, bottom, shoes) outfits to rank (He & Hu 2018): 1 = liked."""

    user_id: str
    outfits: tuple[tuple[str, ...], ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class ConsumerPhoto:
    """A street photo of a shop item (consumer-to-shop retrieval, chapter 3)."""

    photo_id: str
    item_id: str
    category: str
    image: str = ""
    box: Box | None = None


@dataclass(frozen=True)
class Scene:
    """A figure wearing an outfit on a background, with one box per worn item (Kang et al. 2019)."""

    scene_id: str
    item_ids: tuple[str, ...]
    boxes: tuple[Box, ...]
    image: str = ""


@dataclass(frozen=True)
class CTLTriplet:
    """(scene with the product's region masked, positive product, negative of the same category)."""

    scene_id: str
    positive: str
    negative: str
    category: str
    box: Box


@dataclass(frozen=True)
class MultimodalQuery:
    """Image + text request (Sadeh et al. 2019): add / remove / replace attribute words.

    ``relevant`` lists the catalog items that satisfy the request (same sub-category as the
    query, with the wanted words and without the unwanted ones).
    """

    query_id: str
    item_id: str
    kind: str  # "add" | "remove" | "replace"
    wanted: tuple[str, ...]
    unwanted: tuple[str, ...]
    relevant: tuple[str, ...] = field(default_factory=tuple)
