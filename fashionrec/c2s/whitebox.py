"""White-box image features for consumer-to-shop retrieval (Menezes & Kanitkar 2018, method 1).

Four hand-made descriptors, computed per image and concatenated (Sec. "White-box features"):

- HOG: histograms of gradient orientations per cell, block-normalised (Dalal & Triggs 2005);
- Harris corners: how many corners, and how strong, in each cell of a coarse grid;
- a colour histogram in HSV (25 bins per channel: "all colours split into 25 bins");
- a colour coherence vector (Pass, Zabih & Miller 1996): per quantised colour, the share of
  pixels in large connected regions of that colour (coherent) and in small ones (incoherent).

Each block is scaled to unit L2 norm before concatenation, so that HOG's many dimensions do not
drown the colour blocks in an L1, L2 or cosine distance.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2gray, rgb2hsv
from skimage.feature import corner_harris, corner_peaks, hog
from skimage.measure import label
from tqdm.auto import tqdm

from fashionrec import store

VERSION = 1  # bump when a descriptor changes: cached features are keyed by it


def hog_features(gray: np.ndarray, cell: int = 8) -> np.ndarray:
    """HOG of a (H, W) grey image in [0, 1]: 9 orientations, ``cell`` px cells, 2x2-cell blocks."""
    return hog(gray, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
               block_norm="L2-Hys", feature_vector=True).astype(np.float32)


def harris_features(gray: np.ndarray, grid: int = 4, min_distance: int = 2) -> np.ndarray:
    """Harris corners of a (H, W) grey image: per cell of a ``grid`` x ``grid`` partition, the
    number of corner peaks and their summed response; (2 * grid**2,)."""
    response = corner_harris(gray, method="k", k=0.05, sigma=1)  # (H, W)
    peaks = corner_peaks(response, min_distance=min_distance, threshold_rel=0.01)  # (P, 2) rows, cols
    h, w = gray.shape
    cells = (peaks[:, 0] * grid // h) * grid + peaks[:, 1] * grid // w  # (P,)
    counts = np.bincount(cells, minlength=grid * grid)
    strength = np.bincount(cells, weights=np.maximum(response[peaks[:, 0], peaks[:, 1]], 0), minlength=grid * grid)
    return np.concatenate([counts, strength]).astype(np.float32)


def color_histogram(hsv: np.ndarray, bins: int = 25) -> np.ndarray:
    """Per-channel histograms of an (H, W, 3) HSV image in [0, 1], each summing to 1; (3 * bins,)."""
    return np.concatenate([np.histogram(hsv[..., c], bins=bins, range=(0.0, 1.0))[0] / hsv[..., c].size
                           for c in range(3)]).astype(np.float32)


def quantize_colors(rgb: np.ndarray, levels: int = 4) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) colour index in [0, levels**3): ``levels`` steps per RGB channel."""
    q = (rgb.astype(np.int32) * levels) // 256
    return (q[..., 0] * levels + q[..., 1]) * levels + q[..., 2]


def color_coherence_vector(rgb: np.ndarray, levels: int = 4, tau: float = 0.01, blur: bool = True) -> np.ndarray:
    """Colour coherence vector (Pass et al. 1996) of an (H, W, 3) uint8 image.

    The image is blurred (3x3 mean, unless ``blur`` is False), its colours quantised to
    ``levels**3`` bins, and split into 8-connected regions of one colour. A pixel is *coherent*
    when its region covers at least ``tau`` of the image. Returns (alpha_1, beta_1, ..., alpha_n,
    beta_n) / pixel count: per colour the share of coherent (alpha) and incoherent (beta) pixels;
    (2 * levels**3,).
    """
    h, w = rgb.shape[:2]
    if blur:
        pad = np.pad(rgb.astype(np.float32), ((1, 1), (1, 1), (0, 0)), mode="edge")
        rgb = (sum(pad[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9).astype(np.uint8)
    colors = quantize_colors(rgb, levels)  # (H, W)
    regions = label(colors, background=-1, connectivity=2)  # (H, W), 1..R; every pixel labelled
    sizes = np.bincount(regions.ravel())  # (R + 1,)
    coherent = sizes[regions] >= tau * h * w  # (H, W)
    n_colors = levels ** 3
    alpha = np.bincount(colors[coherent], minlength=n_colors)
    beta = np.bincount(colors[~coherent], minlength=n_colors)
    return (np.stack([alpha, beta], axis=1).ravel() / (h * w)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.linalg.norm(x)), 1e-12)


def whitebox_features(images: np.ndarray, progress: bool = False) -> np.ndarray:
    """Concatenated white-box features of uint8 (N, H, W, 3) images: HOG | Harris | HSV histogram | CCV.

    Each block is L2-normalised, so each weighs about the same in a distance. Returns (N, D)
    float32; with 64 px images D = 1764 + 32 + 75 + 128 = 1999.
    """
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3); got {images.dtype} {images.shape}")
    cell = max(4, images.shape[1] // 8)
    rows = []
    for rgb in tqdm(images, desc="white-box features", disable=not progress):
        gray = rgb2gray(rgb)  # (H, W) in [0, 1]
        blocks = (hog_features(gray, cell), harris_features(gray), color_histogram(rgb2hsv(rgb)),
                  color_coherence_vector(rgb))
        rows.append(np.concatenate([_unit(b) for b in blocks]))
    return np.stack(rows)


def whitebox_dim(height: int, width: int) -> int:
    """The length of :func:`whitebox_features` rows for (height, width) images: HOG blocks (2x2 cells of
    9 orientations) + Harris (32) + HSV histogram (75) + CCV (128); 1999 at 64 x 64."""
    cell = max(4, height // 8)
    blocks = max(height // cell - 1, 0) * max(width // cell - 1, 0)
    return blocks * 2 * 2 * 9 + 2 * 4 ** 2 + 3 * 25 + 2 * 4 ** 3


def cached_whitebox(images: np.ndarray, enabled: bool = True) -> np.ndarray:
    """:func:`whitebox_features`, cached in the store (``c2s_features/whitebox-<key>.npy``) under the
    images' digest and the descriptors' ``VERSION``; a cached file of another shape than
    (N, ``whitebox_dim``) is computed again."""
    shape = (len(images), whitebox_dim(*images.shape[1:3])) if np.ndim(images) == 4 else (len(images), None)
    return store.cached_array("c2s_features", {"features": "whitebox", "version": VERSION,
                                               "images": store.digest_array(images)},
                              lambda: whitebox_features(images), shape=shape, name="whitebox",
                              enabled=enabled)


def split_whitebox(data, splits: tuple[str, ...] = ("valid", "test")) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (query, gallery) white-box features of a ``C2SData`` (cached)."""
    return {s: (cached_whitebox(data.splits[s].query_images), cached_whitebox(data.splits[s].gallery_images))
            for s in splits}
