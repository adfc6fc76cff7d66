"""Consumer-to-shop search as a REST service (chapter 3; the paper deployed its model the same way).

Start it with one command (the chapter 3 notebook writes both files into its run folder)::

    python -m fashionrec.c2s.serve --checkpoint RUN/service/siamese.pt --gallery RUN/service/gallery.npz

Endpoints:

- ``POST /search?k=10&category=tops`` with a multipart ``image`` file: the top-k shop items with the
  Siamese network's probability that they show the photographed item;
- ``GET /items/{item_id}/image``: a gallery item's shop image (PNG);
- ``GET /health``: status, gallery size, backbone and limits.

Bad input gets a 4xx with a plain message: 415 not an image, 400 corrupt image, 413 file (or
pixel count, the padded square's included) over the limit, 422 k out of range or an unknown
category, 404 unknown item; the connection stays open for the next request. The service refuses to
start with a checkpoint and a gallery that do not belong together.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from fastapi import FastAPI, File, HTTPException, Query, UploadFile
from fastapi.responses import Response
from PIL import Image
from scipy.special import expit

from fashionrec import images, store
from fashionrec.backbones import Backbone, build_backbone
from fashionrec.c2s.data import C2SSplit, cnn_features
from fashionrec.c2s.model import SiameseNet, load_siamese, save_siamese, siamese_vectors
from fashionrec.datasets.deepfashion_c2s import square_resize
from fashionrec.index import VectorIndex

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_PIXELS = images.MAX_PIXELS  # of the photo padded to its max-side square (what the model sees first)
MAX_K = 50


def save_gallery(path: Path | str, item_ids: list[str], categories: list[str] | np.ndarray, images: np.ndarray,
                 features: np.ndarray, backbone: str, cnn_size: int) -> None:
    """Write the service's gallery: ids, categories, uint8 (G, S, S, 3) shop images and their
    (G, D) backbone features (an ``.npz`` readable without pickle)."""
    if not (len(item_ids) == len(categories) == len(images) == len(features)):
        raise ValueError(f"gallery arrays differ in length: {len(item_ids)} ids, {len(categories)} categories, "
                         f"{len(images)} images, {len(features)} feature rows")
    arrays = dict(item_ids=np.asarray(item_ids, dtype=str), categories=np.asarray(categories, dtype=str),
                  images=np.asarray(images, dtype=np.uint8), features=np.asarray(features, dtype=np.float32),
                  backbone=np.asarray(backbone), cnn_size=np.asarray(cnn_size))
    store.atomic_write(path, lambda f: np.savez(f, **arrays))


def load_gallery(path: Path | str) -> dict[str, np.ndarray]:
    """Read a gallery written by :func:`save_gallery` (no pickle)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: gallery file not found — the chapter 3 notebook writes "
                                f"<run folder>/service/gallery.npz")
    with np.load(path, allow_pickle=False) as z:
        need = {"item_ids", "categories", "images", "features", "backbone", "cnn_size"}
        if not need <= set(z.files):
            raise ValueError(f"{path}: not a gallery file; expected arrays {sorted(need)}, found {sorted(z.files)}")
        return {k: z[k] for k in need}


def save_service(folder: Path | str, model: SiameseNet, cfg, split: C2SSplit,
                 gallery_features: np.ndarray, backbone: Backbone | None = None) -> tuple[Path, Path]:
    """Write what the service loads: ``folder/siamese.pt`` (the model and the sizes in ``cfg``, a
    chapter 3 ``Config``) and ``folder/gallery.npz`` (``split``'s gallery and its CNN features).

    ``backbone``: the CNN that made ``gallery_features``; its weights go into the checkpoint, and
    are needed when ``cfg.pretrained`` is False (a random CNN cannot be rebuilt)."""
    if not cfg.pretrained and backbone is None:
        raise ValueError(f"save_service: {cfg.backbone} is not pretrained (random weights): pass the CNN that "
                         f"made the gallery features as backbone=, the service cannot rebuild it")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_siamese(folder / "siamese.pt", model, backbone_state=None if backbone is None else backbone.state_dict(),
                 backbone=cfg.backbone, pretrained=cfg.pretrained, image_size=cfg.image_size, cnn_size=cfg.cnn_size)
    save_gallery(folder / "gallery.npz", split.gallery, split.gallery_categories, split.gallery_images,
                 gallery_features, cfg.backbone, cfg.cnn_size)
    return folder / "siamese.pt", folder / "gallery.npz"


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 (H, W, 3) image as PNG bytes (an upload)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Uploaded bytes -> uint8 (H, W, 3) RGB (:func:`fashionrec.images.decode_rgb`, its padded square
    bounded by ``max_pixels``); bad input raises HTTPException 413 / 415 / 400 with the problem."""
    if len(data) > max_bytes:
        raise HTTPException(413, f"file too large: over the limit of {max_bytes} bytes")
    try:
        return images.decode_rgb(data, name="upload", max_pixels=max_pixels, square=True)
    except images.ImageError as err:
        status = 413 if isinstance(err, images.ImageTooLarge) else 415 if isinstance(err, images.NotAnImage) else 400
        raise HTTPException(status, str(err).removeprefix("upload: ")) from None


def check_pair(checkpoint: Path | str, config: dict, in_dim: int, gallery: Path | str, g: dict) -> None:
    """Refuse a checkpoint and a gallery that do not belong together (ValueError naming both files):
    a CNN that cannot be rebuilt, another backbone, feature size, image size or CNN input size, and
    duplicated or no gallery ids."""
    pair = f"{checkpoint} and {gallery}"
    name = config.get("backbone")
    if (config.get("finetuned") or not config.get("pretrained")) and "backbone_state" not in config:
        why = "was fine-tuned" if config.get("finetuned") else "is not pretrained (random weights)"
        raise ValueError(f"{pair} do not belong together: the checkpoint's CNN {name} {why} but its weights "
                         f"(backbone_state) are not in the checkpoint, so the service would run on a new random "
                         f"CNN, not the one that made the gallery features — write it with "
                         f"serve.save_service(..., backbone=the CNN)")
    if g["images"].ndim != 4 or g["images"].shape[1] != g["images"].shape[2] or g["images"].shape[3] != 3:
        raise ValueError(f"{gallery}: images must be (G, S, S, 3) squares, found {g['images'].shape}")
    for what, found, expected in [("features come from", str(g["backbone"]), name),
                                  ("feature dims are", int(g["features"].shape[1]), in_dim),
                                  ("CNN input size is", int(g["cnn_size"]), config.get("cnn_size")),
                                  ("image size is", int(g["images"].shape[1]), config.get("image_size"))]:
        if found != expected:
            raise ValueError(f"{pair} do not belong together: the gallery's {what} {found}, the checkpoint "
                             f"expects {expected}")
    ids, counts = np.unique(np.asarray(g["item_ids"], dtype=str), return_counts=True)
    if len(ids) == 0:
        raise ValueError(f"{gallery}: the gallery has no items")
    if (counts > 1).any():
        dupes = ids[counts > 1]
        raise ValueError(f"{pair}: {len(dupes)} item ids appear more than once in the gallery "
                         f"(e.g. {', '.join(map(repr, dupes[:5]))}); expected one row per shop item")


class Searcher:
    """The trained Siamese network, its backbone and an exact L1 index over the gallery."""

    def __init__(self, checkpoint: Path | str, gallery: Path | str, device: str = "cpu"):
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(f"{checkpoint}: checkpoint not found — run the chapter 3 notebook "
                                    f"(it writes <run folder>/service/siamese.pt) or pass --checkpoint")
        self.model, self.config = load_siamese(checkpoint)
        self.device = torch.device(device)
        self.model.to(self.device)
        g = load_gallery(gallery)
        check_pair(checkpoint, self.config, self.model.in_dim, gallery, g)
        self.backbone = build_backbone(self.config["backbone"], pretrained=self.config["pretrained"])
        if "backbone_state" in self.config:
            try:
                self.backbone.load_state_dict(self.config["backbone_state"])
            except RuntimeError as err:
                raise ValueError(f"{checkpoint}: its CNN weights do not fit {self.config['backbone']} "
                                 f"({err})") from None
        self.backbone.to(self.device).eval()
        again = cnn_features(self.backbone, g["images"][:4], self.config["cnn_size"], self.device)  # (<=4, D)
        diff = np.linalg.norm(again - g["features"][:4]) / max(float(np.linalg.norm(g["features"][:4])), 1e-12)
        if diff > 0.05:
            raise ValueError(f"{checkpoint} and {gallery} do not belong together: the checkpoint's CNN gives other "
                             f"features for the gallery's first images (relative difference {diff:.2f}, expected "
                             f"under 0.05) — write both files from the same run")
        self.item_ids = [str(i) for i in g["item_ids"]]
        self.categories = np.asarray(g["categories"], dtype=str)
        self.images = g["images"]
        self.row = {i: k for k, i in enumerate(self.item_ids)}
        vectors = siamese_vectors(self.model, g["features"], self.device)  # (G, E)
        self.rows = {None: np.arange(len(self.item_ids))}
        self.rows.update({c: np.flatnonzero(self.categories == c) for c in sorted(set(self.categories))})
        self.indexes = {c: VectorIndex.build(vectors[r], metric="l1") for c, r in self.rows.items()}

    @torch.inference_mode()
    def embed(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 photo -> (1, E) vector of the Siamese network."""
        photo = square_resize(Image.fromarray(image), self.config["image_size"])[None]  # (1, S, S, 3)
        features = cnn_features(self.backbone, photo, self.config["cnn_size"], self.device)  # (1, D)
        return self.model.embed(torch.from_numpy(features).to(self.device)).cpu().numpy()

    def search(self, image: np.ndarray, k: int, category: str | None = None) -> list[dict]:
        """Top-k gallery items for a photo: rank, id, category, p(same item) and L1 distance."""
        neg_dist, ids = self.indexes[category].search(self.embed(image), k)  # (1, k) each
        bias = float(self.model.bias.detach())
        out = []
        for rank, (d, j) in enumerate(zip(-neg_dist[0], ids[0]), start=1):
            item = self.item_ids[self.rows[category][j]]
            out.append({"rank": rank, "item_id": item, "category": str(self.categories[self.row[item]]),
                        "score": float(expit(bias - d)), "distance": float(d),
                        "image_url": f"/items/{item}/image"})
        return out

    def item_png(self, item_id: str) -> bytes:
        return png_bytes(self.images[self.row[item_id]])


def create_app(checkpoint: Path | str, gallery: Path | str, device: str = "cpu",
               max_upload_bytes: int = MAX_UPLOAD_BYTES, max_k: int = MAX_K, max_pixels: int = MAX_PIXELS) -> FastAPI:
    """The FastAPI app; loads everything at once, so a missing or wrong file fails at start-up."""
    searcher = Searcher(checkpoint, gallery, device)
    app = FastAPI(title="fashionrec consumer-to-shop search",
                  description="Upload a street photo, get the shop items (Menezes & Kanitkar 2018, chapter 3).")
    app.state.searcher = searcher

    @app.get("/health")
    def health() -> dict:
        counts = {c: len(r) for c, r in searcher.rows.items() if c is not None}
        return {"status": "ok", "items": len(searcher.item_ids), "categories": counts,
                "backbone": searcher.config["backbone"], "max_k": max_k, "max_upload_bytes": max_upload_bytes,
                "max_pixels": max_pixels}

    @app.post("/search")
    def search(image: UploadFile = File(..., description="a street photo (JPEG, PNG, ...)"),
               k: int = Query(10, ge=1, le=max_k, description=f"how many items, 1..{max_k}"),
               category: str | None = Query(None, description="rank only this category's items")) -> dict:
        if category is not None and category not in searcher.rows:
            known = ", ".join(c for c in searcher.rows if c is not None)
            raise HTTPException(422, f"unknown category {category!r}; expected one of {known}")
        photo = decode_image(image.file.read(max_upload_bytes + 1), max_upload_bytes, max_pixels)
        k = min(k, len(searcher.rows[category]))
        return {"k": k, "category": category, "results": searcher.search(photo, k, category)}

    @app.get("/items/{item_id}/image", response_class=Response)
    def item_image(item_id: str) -> Response:
        if item_id not in searcher.row:
            raise HTTPException(404, f"unknown item id {item_id!r}")
        return Response(searcher.item_png(item_id), media_type="image/png")

    return app


def results_frame(answer: dict, true_item: str | None = None) -> pd.DataFrame:
    """A ``/search`` answer as a table: rank, item, category, score, distance (and whether each item
    is ``true_item``)."""
    hits = pd.DataFrame(answer["results"])[["rank", "item_id", "category", "score", "distance"]]
    if true_item is not None:
        hits["true item"] = hits.item_id == true_item
    return hits


def receipt(client, answer, hits: pd.DataFrame, photo: bytes) -> str:
    """The service receipt: the status of ``/health`` and of the ``/search`` ``answer`` (its
    :func:`results_frame` ``hits``, whether the true item is among them), then the 4xx status and
    message (70 characters) for k = 0, a text file and a truncated PNG (``photo`` cut to 200 bytes)."""
    lines = [f"health: {client.get('/health').status_code} | search: {answer.status_code} {len(hits)} "
             f"results | true item in the top 5: {bool(hits['true item'].any())}"]
    for label, params, upload in [("k = 0", {"k": 0}, ("a.png", photo)),
                                  ("a text file", {}, ("a.txt", b"not a photo")),
                                  ("a truncated PNG", {}, ("a.png", photo[:200]))]:
        r = client.post("/search", params=params, files={"image": upload})
        lines.append(f"{label}: {r.status_code} {str(r.json()['detail'])[:70]}")
    return "\n".join(lines)


def command(checkpoint: Path | str, gallery: Path | str, host: str = "127.0.0.1", port: int = 8000) -> str:
    """The shell command that serves ``checkpoint`` and ``gallery`` (paths relative to the
    repository root when they lie inside it)."""
    def shown(path: Path | str) -> str:
        path = Path(path).resolve()
        return str(path.relative_to(store.REPO)) if path.is_relative_to(store.REPO) else str(path)
    return (f"python -m fashionrec.c2s.serve --checkpoint {shown(checkpoint)} --gallery {shown(gallery)} "
            f"--host {host} --port {port}")


def in_process_client(checkpoint: Path | str, gallery: Path | str, **kwargs):
    """A ``fastapi.testclient.TestClient`` of :func:`create_app`: the service queried without a server."""
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    return TestClient(create_app(checkpoint, gallery, **kwargs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fashionrec.c2s.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="siamese.pt written by the chapter 3 notebook")
    parser.add_argument("--gallery", type=Path, required=True, help="gallery.npz written by the chapter 3 notebook")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-upload-bytes", type=int, default=MAX_UPLOAD_BYTES)
    parser.add_argument("--max-k", type=int, default=MAX_K)
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS,
                        help="the most pixels of a photo padded to its max-side square")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.checkpoint, args.gallery, args.device, args.max_upload_bytes, args.max_k, args.max_pixels)
    except (FileNotFoundError, ValueError) as err:
        print(f"fashionrec.c2s.serve: error: {err}", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
