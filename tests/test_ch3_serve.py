"""Chapter 3's REST service: search, item images, health, clear 4xx errors, start-up errors, and
one real uvicorn server on 127.0.0.1 (started, queried, stopped)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from fashionrec import c2s
from fashionrec.backbones import build_backbone, extract_features
from fashionrec.c2s import serve
from fashionrec.world.world import World, WorldConfig

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32


png = serve.png_bytes


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> dict:
    """A checkpoint (an untrained Siamese net over a small random CNN, stored with it) and a gallery
    of the smoke world's test items, written as the chapter 3 notebook writes them."""
    folder = tmp_path_factory.mktemp("service")
    world = World.build(WorldConfig.for_profile("smoke"))
    data = c2s.data.fashionworld_split(world, "test", photos_per_item=1, size=SIZE)
    torch.manual_seed(0)
    backbone = build_backbone("small_cnn")
    features = extract_features(backbone, data.gallery_images, progress=False)
    model = c2s.SiameseNet(backbone.dim, hidden=32, embed_dim=16, dropout=0.0)
    model.set_input_stats(features)
    c2s.save_siamese(folder / "siamese.pt", model, backbone_state=backbone.state_dict(), backbone="small_cnn",
                     pretrained=False, image_size=SIZE, cnn_size=SIZE)
    serve.save_gallery(folder / "gallery.npz", data.gallery, data.gallery_categories, data.gallery_images,
                       features, "small_cnn", SIZE)
    return {"checkpoint": folder / "siamese.pt", "gallery": folder / "gallery.npz", "data": data}


@pytest.fixture(scope="module")
def client(service) -> TestClient:
    return TestClient(serve.create_app(service["checkpoint"], service["gallery"], max_upload_bytes=200_000, max_k=20))


def wait_for_health(proc: subprocess.Popen, http: httpx.Client, base: str, seconds: float = 90) -> None:
    """Poll ``base``/health until the server ``proc`` answers 200; fail if it exits or takes ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server exited early: {proc.stdout.read().decode()[-2000:]}")
        try:
            if http.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server did not answer /health within {seconds:g} s")
        time.sleep(0.3)


def test_service_files_table_and_command(service, tmp_path):
    """save_service writes what create_app loads; results_frame and command format an answer."""
    data = service["data"]
    model, _ = c2s.load_siamese(service["checkpoint"])
    cfg = c2s.Config.for_profile("smoke", backbone="small_cnn", pretrained=False, image_size=SIZE, cnn_size=SIZE)
    features = serve.load_gallery(service["gallery"])["features"]
    torch.manual_seed(0)  # the fixture's random CNN again: not pretrained, so it goes into the checkpoint
    checkpoint, gallery = serve.save_service(tmp_path / "svc", model, cfg, data, features,
                                             backbone=build_backbone("small_cnn"))
    client = serve.in_process_client(checkpoint, gallery)
    assert client.get("/health").json()["items"] == len(data.gallery)
    answer = client.post("/search", params={"k": 3}, files={"image": ("a.png", png(data.query_images[0]))}).json()
    table = serve.results_frame(answer, true_item=answer["results"][1]["item_id"])
    assert list(table.columns) == ["rank", "item_id", "category", "score", "distance", "true item"]
    assert table["true item"].tolist() == [False, True, False]
    line = serve.command(ROOT / "runs" / "x" / "siamese.pt", "/elsewhere/gallery.npz")
    assert line.startswith("python -m fashionrec.c2s.serve --checkpoint runs/x/siamese.pt --gallery /elsewhere/")


def test_health(client, service):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["items"] == len(service["data"].gallery)
    assert body["backbone"] == "small_cnn" and body["max_k"] == 20


def test_search_returns_k_ranked_items(client, service):
    data = service["data"]
    r = client.post("/search", params={"k": 7}, files={"image": ("street.png", png(data.query_images[0]), "image/png")})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["rank"] for x in results] == list(range(1, 8))
    scores = [x["score"] for x in results]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert all(x["item_id"] in data.gallery for x in results)


def test_search_matches_the_learned_score(client, service):
    """The service's ranking is the Siamese score's ranking (exact L1 index over w * f(x))."""
    data = service["data"]
    searcher = client.app.state.searcher
    photo = data.query_images[3]
    results = searcher.search(photo, k=len(data.gallery))
    query = searcher.embed(photo)  # (1, E)
    gallery = c2s.siamese_vectors(searcher.model, serve.load_gallery(service["gallery"])["features"])
    logits = searcher.model.bias.item() - np.abs(gallery - query).sum(1)
    expected = [data.gallery[k] for k in np.argsort(-logits, kind="stable")]
    assert [x["item_id"] for x in results][:10] == expected[:10]
    assert results[0]["score"] == pytest.approx(1 / (1 + np.exp(-logits.max())), rel=1e-4)


def test_search_within_a_category(client, service):
    data = service["data"]
    files = {"image": ("a.png", png(data.query_images[0]))}
    r = client.post("/search", params={"k": 5, "category": "tops"}, files=files)
    assert r.status_code == 200 and {x["category"] for x in r.json()["results"]} == {"tops"}
    r = client.post("/search", params={"category": "hats"}, files={"image": ("a.png", png(data.query_images[0]))})
    assert r.status_code == 422 and "unknown category" in r.json()["detail"]


def test_item_image(client, service):
    item = service["data"].gallery[2]
    r = client.get(f"/items/{item}/image")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(r.content))), service["data"].gallery_images[2])
    r = client.get("/items/no-such-item/image")
    assert r.status_code == 404 and "unknown item id" in r.json()["detail"]


@pytest.mark.parametrize("k", [0, -1, 21])
def test_k_out_of_range(client, service, k):
    r = client.post("/search", params={"k": k}, files={"image": ("a.png", png(service["data"].query_images[0]))})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "k"]


def test_bad_uploads(client, service):
    good = png(service["data"].query_images[0])
    cases = [(b"this is a text file, not a photo", 415, "not an image"),
             (b"", 415, "not an image"),
             (good[:150], 400, "corrupt image"),
             (good + b"\0" * 200_000, 413, "file too large")]
    for payload, status, message in cases:
        r = client.post("/search", files={"image": ("x.png", payload, "image/png")})
        assert r.status_code == status and message in r.json()["detail"], (status, r.text)
    r = client.post("/search")  # no file at all
    assert r.status_code == 422


def test_receipt(client, service):
    """The notebook's service receipt: health and search status, the hit count, and the 4xx for
    k = 0 (422), a text file (415) and a truncated PNG (400)."""
    data = service["data"]
    photo = png(data.query_images[0])
    answer = client.post("/search", params={"k": 5}, files={"image": ("street.png", photo, "image/png")})
    hits = serve.results_frame(answer.json(), true_item=answer.json()["results"][2]["item_id"])
    lines = serve.receipt(client, answer, hits, photo).splitlines()
    assert lines[0] == "health: 200 | search: 200 5 results | true item in the top 5: True"
    hits = serve.results_frame(answer.json(), true_item="no such item")
    assert serve.receipt(client, answer, hits, photo).splitlines()[0].endswith("top 5: False")
    assert [line.split(":")[0] for line in lines[1:]] == ["k = 0", "a text file", "a truncated PNG"]
    assert lines[1].startswith("k = 0: 422 ") and len(lines[1]) <= len("k = 0: 422 ") + 70
    assert lines[2].startswith("a text file: 415 ") and "not an image" in lines[2]
    assert lines[3].startswith("a truncated PNG: 400 ") and "corrupt image" in lines[3]


def test_missing_files_fail_at_start_up(service, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        serve.create_app(tmp_path / "nope.pt", service["gallery"])
    with pytest.raises(FileNotFoundError, match="gallery file not found"):
        serve.create_app(service["checkpoint"], tmp_path / "nope.npz")
    assert serve.main(["--checkpoint", str(tmp_path / "nope.pt"), "--gallery", str(service["gallery"])]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_wrong_gallery_backbone_is_refused(service, tmp_path):
    g = serve.load_gallery(service["gallery"])
    serve.save_gallery(tmp_path / "g.npz", list(g["item_ids"]), g["categories"], g["images"], g["features"],
                       "resnet18", SIZE)
    with pytest.raises(ValueError, match="features come from resnet18"):
        serve.create_app(service["checkpoint"], tmp_path / "g.npz")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_on_loopback(service):
    """`python -m fashionrec.c2s.serve` as a real uvicorn server: start on a free port, query, stop."""
    port = _free_port()
    cmd = [sys.executable, "-m", "fashionrec.c2s.serve", "--checkpoint", str(service["checkpoint"]),
           "--gallery", str(service["gallery"]), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    http = httpx.Client(trust_env=False)  # loopback only: never through a proxy from the environment
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(proc, http, base)
        r = http.post(f"{base}/search", params={"k": 3},
                       files={"image": ("a.png", png(service["data"].query_images[1]), "image/png")}, timeout=30)
        assert r.status_code == 200 and len(r.json()["results"]) == 3
        assert http.get(f"{base}/items/{r.json()['results'][0]['item_id']}/image", timeout=10).status_code == 200
    finally:
        http.close()
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
