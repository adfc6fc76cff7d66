"""Bad input to chapter 3's REST service (issue 20): every bad upload is a 4xx that names the problem,
the keep-alive connection stays usable, a bounded load test on 127.0.0.1 has no errors, and the
service refuses to start with a checkpoint and a gallery that do not belong together.

``load`` is also what ``benchmarks/bench_serve_load.py`` runs, larger.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from test_bad_input_images import (bomb_png, encode, jpeg_cut_in_body, jpeg_cut_in_header, rgba_png,
                                   wide_png)
from test_ch3_serve import SIZE, _free_port, service, wait_for_health  # noqa: F401 (the fixture)

from fashionrec import c2s
from fashionrec.backbones import build_backbone
from fashionrec.c2s import serve

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEXT = "not an image: expected a JPEG, PNG, WebP, GIF or BMP file"  # the chapter 3 page's receipt shows it

BAD = [  # (case, payload builder, status, start of the message)
    ("decompression bomb PNG", bomb_png, 413, "image too large: decompression bomb refused (400000000 pixels)"),
    ("20000x1 PNG", wide_png, 413, "image too large: 20000x1 pixels pads to a 20000x20000 square"),
    ("JPEG cut inside its header", jpeg_cut_in_header, 400, "corrupt image: the JPEG header cannot be read"),
    ("JPEG cut inside its body", jpeg_cut_in_body, 400,
     "corrupt image: the JPEG data cannot be decoded (image file is truncated"),
    ("text file named .jpg", lambda: b"this is a text file, not a photo", 415, TEXT),
    ("empty file", lambda: b"", 415, "not an image: the file is empty"),
    ("TIFF", lambda: encode(Image.new("RGB", (4, 4)), "TIFF"), 415, "not an image the project reads: TIFF"),
    ("file over the byte limit", lambda: b"\xff\xd8" + b"\0" * 300_000, 413, "file too large"),
]


@pytest.fixture(scope="module")
def client(service) -> TestClient:  # noqa: F811
    return TestClient(serve.create_app(service["checkpoint"], service["gallery"], max_upload_bytes=200_000),
                      raise_server_exceptions=False)


def _good(service) -> bytes:  # noqa: F811
    return serve.png_bytes(service["data"].query_images[0])


@pytest.mark.parametrize("case, build, status, message", BAD, ids=[c[0] for c in BAD])
def test_bad_upload_is_a_4xx_naming_the_problem(client, service, case, build, status, message):  # noqa: F811
    r = client.post("/search", files={"image": ("street.jpg", build(), "image/jpeg")})
    assert r.status_code == status and r.json()["detail"].startswith(message), r.text
    assert client.post("/search", files={"image": ("a.png", _good(service))}).status_code == 200


def test_truncated_png_message_is_the_pages_receipt(client, service):  # noqa: F811
    """The chapter 3 page prints the first 70 characters of this message; they stay the same."""
    r = client.post("/search", files={"image": ("a.png", _good(service)[:200])})
    assert r.status_code == 400
    assert r.json()["detail"][:70] == "corrupt image: the PNG data cannot be decoded (image file is truncated"


def test_transparent_photo_is_searched_on_white(client, service):  # noqa: F811
    """A photo whose background is transparent (black underneath) ranks like the same photo on white."""
    photo = service["data"].query_images[0].copy()
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, : SIZE // 3] = 0
    rgba = np.dstack([np.where(alpha[..., None] == 0, 0, photo), alpha])
    photo[:, : SIZE // 3] = 255
    on_white = client.post("/search", files={"image": ("a.png", serve.png_bytes(photo))}).json()["results"]
    clear = client.post("/search", files={"image": ("a.png", encode(Image.fromarray(rgba, "RGBA")))}).json()
    assert [x["item_id"] for x in clear["results"]] == [x["item_id"] for x in on_white]
    assert [x["distance"] for x in clear["results"]] == pytest.approx([x["distance"] for x in on_white])
    assert client.post("/search", files={"image": ("a.png", rgba_png())}).status_code == 200


def test_health_reports_the_pixel_limit(client):
    assert client.get("/health").json()["max_pixels"] == serve.MAX_PIXELS


# ----- a real server on 127.0.0.1: keep-alive after each bad request, then a bounded load test --------
@contextlib.contextmanager
def serving(service: dict):
    """``python -m fashionrec.c2s.serve`` on a free 127.0.0.1 port for ``service``'s files: its URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "fashionrec.c2s.serve", "--checkpoint", str(service["checkpoint"]),
           "--gallery", str(service["gallery"]), "--host", "127.0.0.1", "--port", str(port),
           "--max-upload-bytes", "200000"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(trust_env=False) as http:  # loopback only: never through a proxy
            wait_for_health(proc, http, base)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server(service):  # noqa: F811
    with serving(service) as base:
        yield base


def test_keep_alive_connection_survives_every_bad_request(server, service):  # noqa: F811
    """One connection: each bad upload, then a good one; the server never closes it."""
    good = _good(service)
    with httpx.Client(trust_env=False, base_url=server, timeout=30) as http:
        answers = []  # kept alive, so that each stream's id stays its own
        for case, build, status, message in BAD:
            bad = http.post("/search", files={"image": ("x.jpg", build())})
            ok = http.post("/search", params={"k": 3}, files={"image": ("a.png", good)})
            assert (bad.status_code, ok.status_code) == (status, 200), (case, bad.text, ok.text)
            assert bad.json()["detail"].startswith(message), (case, bad.text)
            assert bad.headers.get("connection") != "close", case
            answers += [bad, ok]
        assert len({id(r.extensions["network_stream"]) for r in answers}) == 1  # one TCP connection throughout


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def load(base: str, uploads: list[tuple[bytes, int]], requests: int, concurrency: int) -> dict:
    """``requests`` POST /search spread over ``concurrency`` keep-alive clients (threads), cycling
    through ``uploads`` (payload, expected status). Returns latencies (s), errors (wrong status or a
    transport error) and wall time."""
    latencies, errors, lock = [], [], threading.Lock()

    def worker(w: int) -> None:
        with httpx.Client(trust_env=False, base_url=base, timeout=60) as http:
            for n in range(w, requests, concurrency):
                payload, expected = uploads[n % len(uploads)]
                start = time.perf_counter()
                try:
                    status = http.post("/search", params={"k": 5}, files={"image": ("x", payload)}).status_code
                except httpx.HTTPError as err:
                    status = repr(err)
                with lock:
                    latencies.append(time.perf_counter() - start)
                    if status != expected:
                        errors.append((n, status))

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - start}


def test_bounded_load_on_loopback(server, service):  # noqa: F811
    """40 requests, 4 at a time, good photos mixed with bad uploads: all answered as expected."""
    uploads = [(_good(service), 200), (serve.png_bytes(service["data"].query_images[1]), 200),
               (bomb_png(), 413), (jpeg_cut_in_header(), 400), (b"not a photo", 415)]
    out = load(server, uploads, requests=40, concurrency=4)
    p50, p99 = percentile_ms(out["latencies"], 50), percentile_ms(out["latencies"], 99)
    print(f"\n40 requests, 4 at a time: p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {len(out['errors'])}")
    assert len(out["latencies"]) == 40 and out["errors"] == []


# ----- start-up refusals: files that do not belong together -------------------------------------------
def _save(service, tmp_path, *, backbone_state="fixture", ids=None, images=None, cnn_size=SIZE,  # noqa: F811
          image_size=SIZE) -> tuple[Path, Path]:
    model, config = c2s.load_siamese(service["checkpoint"])
    g = serve.load_gallery(service["gallery"])
    state = config["backbone_state"] if backbone_state == "fixture" else backbone_state
    c2s.save_siamese(tmp_path / "siamese.pt", model, backbone_state=state, backbone="small_cnn",
                     pretrained=False, image_size=image_size, cnn_size=SIZE)
    serve.save_gallery(tmp_path / "gallery.npz", list(g["item_ids"]) if ids is None else ids, g["categories"],
                       g["images"] if images is None else images, g["features"], "small_cnn", cnn_size)
    return tmp_path / "siamese.pt", tmp_path / "gallery.npz"


def test_consistent_files_start(service, tmp_path):  # noqa: F811
    assert serve.create_app(*_save(service, tmp_path)).state.searcher.item_ids == list(service["data"].gallery)


def _other_cnn() -> dict:
    torch.manual_seed(1)
    return build_backbone("small_cnn").state_dict()


def _small_images(service) -> np.ndarray:  # noqa: F811
    g = serve.load_gallery(service["gallery"])["images"]
    return np.stack([np.asarray(Image.fromarray(x).resize((SIZE // 2, SIZE // 2))) for x in g])


REFUSALS = [  # (case, changes to the files, words in the error)
    ("checkpoint without its random CNN", dict(backbone_state=None),
     "is not pretrained (random weights) but its weights (backbone_state) are not in the checkpoint"),
    ("checkpoint with another CNN", dict(backbone_state="other"), "the checkpoint's CNN gives other features"),
    ("checkpoint and gallery image sizes differ", dict(image_size=2 * SIZE),
     f"the gallery's image size is {SIZE}, the checkpoint expects {2 * SIZE}"),
    ("gallery images of another size", dict(images="small"),
     f"the gallery's image size is {SIZE // 2}, the checkpoint expects {SIZE}"),
    ("CNN input sizes differ", dict(cnn_size=2 * SIZE), f"the gallery's CNN input size is {2 * SIZE}"),
    ("duplicated gallery ids", dict(ids="dupes"), "2 item ids appear more than once in the gallery"),
]


@pytest.mark.parametrize("case, changes, words", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_mismatched_files_refuse_to_start(service, tmp_path, capsys, case, changes, words):  # noqa: F811
    changes = dict(changes)
    if changes.get("backbone_state") == "other":
        changes["backbone_state"] = _other_cnn()
    if changes.get("images") == "small":
        changes["images"] = _small_images(service)
    if changes.get("ids") == "dupes":
        ids = list(service["data"].gallery)
        changes["ids"] = [ids[1], *ids[1:3], ids[2], *ids[4:]]  # ids[1] and ids[2] twice
    checkpoint, gallery = _save(service, tmp_path, **changes)
    with pytest.raises(ValueError) as info:
        serve.create_app(checkpoint, gallery)
    message = str(info.value)
    assert words in message and str(checkpoint) in message and str(gallery) in message, message
    assert serve.main(["--checkpoint", str(checkpoint), "--gallery", str(gallery)]) == 2
    assert words in capsys.readouterr().err


def test_save_service_needs_the_random_cnn(service, tmp_path):  # noqa: F811
    model, _ = c2s.load_siamese(service["checkpoint"])
    cfg = c2s.Config.for_profile("smoke", backbone="small_cnn", pretrained=False, image_size=SIZE, cnn_size=SIZE)
    with pytest.raises(ValueError, match="small_cnn is not pretrained .* pass the CNN that made the gallery"):
        serve.save_service(tmp_path, model, cfg, service["data"], serve.load_gallery(service["gallery"])["features"])
