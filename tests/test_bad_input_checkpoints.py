"""Damaged checkpoints and caches (issue 20): a checkpoint names itself and says to delete it, a cache is
rebuilt with a one-line warning naming it; best.pt never falls behind last.pt; stale caches rebuild."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fashionrec import config, report, store, train
from fashionrec.config import TrainConfig
from fashionrec.train import fit

CFG = TrainConfig(epochs=4, batch_size=16, lr=0.05, grad_clip=None)


def loader() -> DataLoader:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=gen)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))


def mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return F.mse_loss(model(x).squeeze(-1), y)


def valid_fn(model: nn.Module) -> float:
    x, y = loader().dataset.tensors
    return -F.mse_loss(model(x).squeeze(-1), y).item()  # improves every epoch here: best.pt follows


def fresh() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(4, 1)


def run(run_dir: Path, cfg: TrainConfig = CFG, **kw) -> nn.Module:
    model = fresh()
    fit(model, loader(), mse, cfg, valid_fn=valid_fn, run_dir=run_dir, progress=False, **kw)
    return model


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 4-epoch run folder (the reference)."""
    run_dir = tmp_path_factory.mktemp("finished")
    run(run_dir)
    return run_dir


# ----- damaged last.pt: one error naming the file and saying what to do ----------------------------------
def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _zip_of_text() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "not a checkpoint")
    return buf.getvalue()


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def _damage(kind: str, good: bytes) -> bytes:
    ckpt = torch.load(io.BytesIO(good), weights_only=True)
    return {
        "truncated half": lambda: good[: len(good) // 2],
        "truncated zip tail": lambda: good[:-40],
        "empty file": lambda: b"",
        "text file named .pt": lambda: b"epoch,loss\n1,0.5\n",
        "random bytes": lambda: np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "zip of something else": _zip_of_text,
        "missing 'model'": lambda: _torch_bytes({k: v for k, v in ckpt.items() if k != "model"}),
        "missing 'rng' and 'history'": lambda: _torch_bytes({k: v for k, v in ckpt.items()
                                                              if k not in ("rng", "history")}),
        "a list, not a dict": lambda: _torch_bytes([1, 2, 3]),
        "another model's weights": lambda: _torch_bytes({**ckpt, "model": nn.Linear(3, 1).state_dict()}),
        "damaged random states": lambda: _torch_bytes({**ckpt, "rng": {"torch": torch.zeros(3)}}),
        "a pickle of code": lambda: pickle.dumps(Evil()),
    }[kind]()


CHECKPOINT_CASES = ["truncated half", "truncated zip tail", "empty file", "text file named .pt", "random bytes",
                    "zip of something else", "missing 'model'", "missing 'rng' and 'history'", "a list, not a dict",
                    "another model's weights", "damaged random states", "a pickle of code"]


@pytest.mark.parametrize("kind", CHECKPOINT_CASES)
def test_a_damaged_last_pt_names_the_file_and_says_to_delete_it(kind, finished, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    last = run_dir / "last.pt"
    last.write_bytes(_damage(kind, last.read_bytes()))
    with pytest.raises(store.DamagedFile) as err:
        run(run_dir)
    message = str(err.value)
    assert message.startswith(f"{last}: ") and "\n" not in message
    assert "Delete it" in message and "resume=False" in message
    assert "pwned" not in capsys.readouterr().out  # the pickle was refused, not run
    if kind.startswith("missing"):
        assert "lacks the key(s) " in message and kind.split()[1] in message
    model = run(run_dir, resume=False)  # the way out the message names
    assert torch.load(last, weights_only=True)["epoch"] == 4
    assert same(model.state_dict(), torch.load(run_dir / "best.pt", weights_only=True))


@pytest.mark.parametrize("what, data, expected", [
    ("checkpoint", b"", "damaged checkpoint"), ("checkpoint", b"PK\x03\x04 cut", "damaged checkpoint")])
def test_load_torch_explains_any_checkpoint_it_reads(tmp_path, what, data, expected):
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    with pytest.raises(store.DamagedFile, match=rf"^{path}: {expected}: .*\. Delete it\.$"):
        store.load_torch(path, what=what)
    with pytest.warns(store.RebuiltCache, match=str(path)):
        assert store.load_torch(path, what="cached tensors", cache=True) is None


# ----- best.pt and last.pt never out of step ---------------------------------------------------------------
def test_best_pt_is_written_before_last_pt(tmp_path, monkeypatch):
    written = []
    save = store.save_torch
    monkeypatch.setattr(store, "save_torch", lambda path, obj: (written.append(Path(path).name), save(path, obj))[1])
    run(tmp_path, replace(CFG, epochs=2))
    assert written == ["best.pt", "last.pt", "best.pt", "last.pt"]


def test_a_kill_between_best_pt_and_last_pt_resumes_in_step(finished, tmp_path, monkeypatch):
    save, calls = store.save_torch, []

    def killed(path, obj):  # the process dies right after the last epoch's best.pt
        calls.append(Path(path).name)
        if calls.count("last.pt") == CFG.epochs:
            raise KeyboardInterrupt
        return save(path, obj)

    monkeypatch.setattr(store, "save_torch", killed)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    monkeypatch.setattr(store, "save_torch", save)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == CFG.epochs - 1  # best.pt is ahead
    model = run(tmp_path)  # resumes the last epoch (bit-identically) and rewrites both
    reference = torch.load(finished / "best.pt", weights_only=True)
    assert same(torch.load(tmp_path / "best.pt", weights_only=True), reference)
    assert same(model.state_dict(), reference)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == CFG.epochs


@pytest.mark.parametrize("best", ["one epoch behind", "missing", "truncated"])
def test_resume_rewrites_a_best_pt_out_of_step_with_last_pt(finished, tmp_path, best):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    path = run_dir / "best.pt"
    if best == "one epoch behind":  # what a kill between last.pt and best.pt left with the old order
        behind = tmp_path / "behind"
        run(behind, replace(CFG, epochs=CFG.epochs - 1))
        shutil.copy(behind / "best.pt", path)
    elif best == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = run(run_dir)  # a finished run: trains nothing, but puts best.pt back in step
    assert same(torch.load(path, weights_only=True), torch.load(finished / "best.pt", weights_only=True))
    assert same(model.state_dict(), torch.load(path, weights_only=True))
    messages = [str(w.message) for w in caught if issubclass(w.category, store.RebuiltCache)]
    assert (messages == []) if best == "missing" else (len(messages) == 1 and str(path) in messages[0])


# ----- damaged caches: rebuilt, with one warning naming the file ------------------------------------------
def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, a=np.ones((3, 2), np.float32))
    return buf.getvalue()


@pytest.mark.parametrize("kind, data", [
    ("truncated", None), ("text", b"hello"), ("empty", b""), ("npz under an .npy name", _npz_bytes()),
    ("wrong shape", "shape"), ("object array", "pickle")])
@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_a_damaged_cached_array_is_rebuilt_with_a_warning(tmp_path, kind, data, mmap_mode):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(3, 2)

    store.cached_array("f", {"d": 1}, compute, shape=(3, 2), root=tmp_path)
    (path,) = (tmp_path / "f").glob("*.npy")
    good = path.read_bytes()
    if data is None:
        path.write_bytes(good[: len(good) - 8])
    elif data == "shape":
        np.save(path, np.zeros((5, 2), np.float32))
    elif data == "pickle":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(data)
    with pytest.warns(store.RebuiltCache, match=rf"^{path}: cached array not usable \(.+\); rebuilding it$"):
        again = store.cached_array("f", {"d": 1}, compute, shape=(3, 2), root=tmp_path, mmap_mode=mmap_mode)
    assert len(calls) == 2 and np.array_equal(again, compute())
    assert path.read_bytes() == good  # the rebuilt file replaced the damaged one


def _world_cfg():
    from fashionrec.world.world import WorldConfig

    return WorldConfig(seed=5, n_items=300, n_outfits=60, n_users=2, user_positives=8)


WORLD_DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "not JSON": lambda text: "items,pools\n1,2\n",
    "JSON of another shape": lambda text: json.dumps({"items": []}),
    "a JSON list": lambda text: "[1, 2, 3]",
    "fewer items": lambda text: json.dumps({**json.loads(text), "items": json.loads(text)["items"][:-1]}),
    "users dropped": lambda text: json.dumps({**json.loads(text), "users": []}),
}


@pytest.mark.parametrize("kind", [*WORLD_DAMAGE, "UTF-16"])
def test_a_damaged_world_json_is_generated_again(tmp_path, kind):
    from fashionrec.world.world import World

    cfg = _world_cfg()
    built = World.build(cfg, cache_dir=tmp_path)
    path = tmp_path / "fashionworld" / cfg.key() / "world.json"
    good = path.read_bytes()
    if kind == "UTF-16":
        path.write_bytes(good.decode().encode("utf-16"))
    else:
        path.write_text(WORLD_DAMAGE[kind](good.decode()))
    with pytest.warns(store.RebuiltCache, match=rf"^{path}: FashionWorld cache not usable \(.+\); rebuilding it$"):
        again = World.build(cfg, cache_dir=tmp_path)
    assert again.outfits == built.outfits and again.items == built.items and again.users == built.users
    assert path.read_bytes() == good


@pytest.fixture(scope="module")
def scene_world(tmp_path_factory):
    from fashionrec.world.world import World

    return World.build(_world_cfg(), cache_dir=tmp_path_factory.mktemp("scenes"))


SCENE_DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "not JSON": lambda text: "scenes\n",
    "missing triplets": lambda text: json.dumps({"scenes": json.loads(text)["scenes"]}),
    "more triplets than scenes": lambda text: json.dumps({**json.loads(text),
                                                          "triplets": json.loads(text)["triplets"] * 2}),
    "more scenes than asked": lambda text: json.dumps({**json.loads(text),
                                                       "scenes": json.loads(text)["scenes"] * 3}),
    "a box of 3 numbers": lambda text: json.dumps({**json.loads(text), "triplets": [
        {**t, "box": t["box"][:3]} for t in json.loads(text)["triplets"]]}),
    "a triplet of another scene": lambda text: json.dumps({**json.loads(text), "triplets": [
        {**t, "scene_id": "elsewhere"} for t in json.loads(text)["triplets"]]}),
}


@pytest.mark.parametrize("kind", SCENE_DAMAGE)
def test_a_damaged_ctl_scene_cache_is_rebuilt(scene_world, kind):
    from fashionrec.ctl.data import _scenes_cached

    n, size = 4, 32
    scenes, triplets, _, _, key = _scenes_cached(scene_world, "test", n, size, 0, keep_images=False)
    path = Path(scene_world.cache_dir) / "ctl" / f"scenes-{key}.json"
    good = path.read_text()
    path.write_text(SCENE_DAMAGE[kind](good))
    with pytest.warns(store.RebuiltCache, match=rf"^{path}: CTL scene cache not usable \(.+\); rebuilding it$"):
        again = _scenes_cached(scene_world, "test", n, size, 0, keep_images=True)
    assert again[0] == scenes and again[1] == triplets and again[2].shape == (len(triplets), size, size, 3)
    assert path.read_text() == good  # written back whole (store.save_json: atomically)


def test_the_ctl_scene_cache_is_written_atomically(scene_world, monkeypatch):
    from fashionrec.ctl.data import _scenes_cached

    written = []
    save = store.atomic_write
    monkeypatch.setattr(store, "atomic_write", lambda path, *a, **k: (written.append(Path(path).name), save(path, *a, **k))[1])
    _scenes_cached(scene_world, "valid", 3, 32, 0, keep_images=True)
    assert len([w for w in written if w.startswith("scenes-") and w.endswith(".json")]) == 1
    assert len([w for w in written if w.startswith("masked-") and w.endswith(".npy")]) == 1


@pytest.mark.parametrize("size", [(32, 32), (48, 64)])
def test_whitebox_cache_of_the_wrong_width_is_recomputed(tmp_path, monkeypatch, size):
    from fashionrec.c2s import whitebox

    monkeypatch.setenv("FASHIONREC_CACHE", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, (2, *size, 3), dtype=np.uint8)
    first = whitebox.cached_whitebox(images)
    assert first.shape == (2, whitebox.whitebox_dim(*size))
    (path,) = (tmp_path / "c2s_features").glob("whitebox-*.npy")
    np.save(path, first[:, :-1])  # a stale file of the old descriptor length under the same key
    with pytest.warns(store.RebuiltCache, match=rf"^{path}: .*expected \(2, {first.shape[1]}\)"):
        again = whitebox.cached_whitebox(images)
    np.testing.assert_array_equal(again, first)


# ----- stale caches the issue lists that had no test yet ---------------------------------------------------
def _package_copy(tmp_path: Path, monkeypatch) -> Path:
    pkg = tmp_path / "fashionrec"
    shutil.copytree(store.PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store, "PACKAGE", pkg)
    store._dependencies.cache_clear()
    return pkg


def test_world_and_image_keys_follow_the_generator_and_renderer_code(tmp_path, monkeypatch):
    from fashionrec.world import world as world_module

    cfg = _world_cfg()
    pkg = _package_copy(tmp_path, monkeypatch)
    try:
        world_key, image_key = cfg.key(), world_module._renderer_key()
        (pkg / "metrics.py").write_text((pkg / "metrics.py").read_text() + "\n# not the generator\n")
        store._dependencies.cache_clear()
        assert (cfg.key(), world_module._renderer_key()) == (world_key, image_key)
        vocab = pkg / "world" / "vocab.py"  # the palette: images redrawn, and the world (colours) regenerated
        vocab.write_text(vocab.read_text() + "\nEXTRA_COLOUR = (1, 2, 3)\n")
        assert world_module._renderer_key() != image_key and cfg.key() != world_key
        palette_key, palette_images = cfg.key(), world_module._renderer_key()
        model = pkg / "world" / "model.py"  # the outfit model only: a new world, the same images
        model.write_text(model.read_text() + "\n# a changed generator\n")
        assert cfg.key() != palette_key and world_module._renderer_key() == palette_images
    finally:
        store._dependencies.cache_clear()


@dataclass(frozen=True)
class _LrConfig(config.ChapterConfig):
    chapter: str = "demo"
    train: TrainConfig = field(default_factory=TrainConfig)


def test_a_changed_lr_gets_its_own_run_folder(tmp_path):
    cfg = _LrConfig(profile="smoke")
    first = report.start_run(cfg, root=tmp_path, code="")
    faster = report.start_run(replace(cfg, train=replace(cfg.train, lr=cfg.train.lr * 10)), root=tmp_path, code="")
    assert faster != first and report.start_run(cfg, root=tmp_path, code="") == first
    assert json.loads((faster / "config.json").read_text())["config"]["train"]["lr"] == cfg.train.lr * 10



def test_provenance_is_written_once_by_the_run_that_made_the_folder(tmp_path, monkeypatch):
    """A reused run folder keeps the config.json of the run that trained its weights (issue 20: a later
    commit's reload rewrote it, so old weights carried new provenance)."""
    cfg = _LrConfig(profile="smoke")
    first = report.start_run(cfg, root=tmp_path, code="")
    written = (first / "config.json").read_text()
    real = report.environment
    monkeypatch.setattr(report, "environment", lambda: {**real(), "git_commit": "a-later-commit"})
    assert report.start_run(cfg, root=tmp_path, code="") == first
    assert (first / "config.json").read_text() == written and "a-later-commit" not in written
