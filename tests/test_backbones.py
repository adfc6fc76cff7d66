"""Backbones: shapes, shipped EfficientNet weights, offline weight errors, cached extraction."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
from torch import nn

from fashionrec import backbones
from fashionrec.backbones import (
    BACKBONES,
    build_backbone,
    efficientnet_lite0_weights_path,
    extract_features,
    feature_cache_path,
    images_to_tensor,
    torchvision_weights_path,
)

# name: (dim, early channels, mid channels, last channels, test image size)
EXPECTED = {
    "small_cnn": (256, 64, 128, 256, 32),
    "resnet18": (512, 128, 256, 512, 32),
    "resnet50": (2048, 512, 1024, 2048, 32),
    "vgg16": (4096, 256, 512, 512, 32),
    "vgg19": (4096, 256, 512, 512, 32),
    "inception_v3": (2048, 288, 768, 2048, 75),
    "efficientnet_lite0": (1280, 40, 112, 1280, 32),
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any download attempt fails at once instead of reaching the network."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(torch.hub, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture(scope="module")
def lite0():
    return build_backbone("efficientnet_lite0").eval()


def test_registry_covers_expected_names():
    assert set(BACKBONES) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_backbone_builds_and_gives_documented_shapes(name):
    dim, early_c, mid_c, last_c, size = EXPECTED[name]
    torch.manual_seed(0)
    model = build_backbone(name, pretrained=False).eval()
    assert model.name == name and model.dim == dim and not model.pretrained
    assert model.map_channels == {"early": early_c, "mid": mid_c, "last": last_c}
    images = torch.rand(2, 3, size, size)
    with torch.inference_mode():
        feats = model.features(images)
        early, mid, last = (model.feature_map(images, lv) for lv in ("early", "mid", "last"))
        together = model.feature_maps(images, {"early", "mid", "last"})  # one forward pass
    assert feats.shape == (2, dim)
    assert torch.isfinite(feats).all()
    assert early.ndim == 4 and early.shape[:2] == (2, early_c)
    assert mid.ndim == 4 and mid.shape[:2] == (2, mid_c)
    assert last.ndim == 4 and last.shape[:2] == (2, last_c)
    assert early.shape[-1] >= mid.shape[-1] >= last.shape[-1]   # shallow to deep: finer to coarser
    for level, alone in (("early", early), ("mid", mid), ("last", last)):
        torch.testing.assert_close(together[level], alone)
    torch.testing.assert_close(model.pool(last), feats)  # guards any subclass that overrides features()
    too_small = model.min_size - 1             # documented minimum (75 px for Inception-v3)
    assert model.min_size == (75 if name == "inception_v3" else 16 if name == "small_cnn" else 32)
    with pytest.raises(ValueError, match=f"at least {model.min_size} px"):
        model.features(torch.rand(1, 3, too_small, too_small))


def test_small_cnn_width_is_configurable_and_trainable():
    model = build_backbone("small_cnn", width=8)
    assert model.dim == 64 and model.map_channels == {"early": 16, "mid": 32, "last": 64}
    feats = model.features(torch.rand(4, 3, 16, 16))
    assert feats.shape == (4, 64)
    feats.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        build_backbone("alexnet")
    for name in EXPECTED:
        assert name in str(err.value)


def test_small_cnn_has_no_pretrained_weights():
    with pytest.raises(ValueError, match="from scratch"):
        build_backbone("small_cnn", pretrained=True)


def test_bad_level_and_too_small_images_are_rejected():
    model = build_backbone("small_cnn")
    with pytest.raises(ValueError, match="level"):
        model.feature_map(torch.rand(1, 3, 32, 32), level="first")
    with pytest.raises(ValueError, match="at least 16 px"):
        model.features(torch.rand(1, 3, 8, 8))


# ---- EfficientNet-Lite0: shipped weights, offline ----------------------------------------------

def test_efficientnet_lite0_loads_shipped_weights_by_default(lite0):
    assert lite0.pretrained and lite0.dim == 1280
    shipped = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    state = lite0.model.state_dict()
    assert set(state) == set(shipped)
    for key, value in shipped.items():
        assert torch.equal(state[key], value), key
    random_init = build_backbone("efficientnet_lite0", pretrained=False)
    assert not random_init.pretrained
    assert not torch.equal(random_init.model._fc.weight, shipped["_fc.weight"])
    assert not torch.equal(random_init.model._conv_stem.weight, shipped["_conv_stem.weight"])


def test_efficientnet_lite0_features_are_finite_and_differ_between_images(lite0):
    torch.manual_seed(0)
    images = torch.rand(3, 3, 64, 64)
    images[2] = 0.5   # a flat grey image
    with torch.inference_mode():
        feats = lite0.features(images)
    assert feats.shape == (3, 1280) and torch.isfinite(feats).all()
    assert (feats >= 0).all()   # ReLU6 head
    assert not torch.allclose(feats[0], feats[2], atol=1e-3)
    assert not torch.allclose(feats[1], feats[2], atol=1e-3)


def test_efficientnet_lite0_classifies_a_real_photo(lite0):
    """The shipped classifier plus our normalisation call skimage's coffee photo an espresso."""
    data = pytest.importorskip("skimage.data")
    model = lite0
    photo = images_to_tensor(data.coffee()[None])                    # (1, 3, 400, 600)
    photo = nn.functional.interpolate(photo[..., 100:500], size=224, mode="bilinear",
                                      antialias=True, align_corners=False).clamp(0, 1)
    with torch.inference_mode():
        probs = model.model(model.normalize(photo)).softmax(dim=1)[0]
    assert int(probs.argmax()) == 967   # ImageNet class 967: espresso
    # 0.94 with the edge-model normalisation; 0.85 without any, 0.84 with ImageNet mean/std
    assert float(probs[967]) > 0.9
    grey = torch.tensor([0.0, 127 / 255, 1.0]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    normalised = model.normalize(grey)[0, :, 0, 0]
    torch.testing.assert_close(normalised, torch.tensor([-127 / 128, 0.0, 1.0]))


# ---- torchvision weights: cache or a clear error, never the network in tests -------------------

def test_missing_torchvision_weights_stop_at_once_with_one_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("FASHIONREC_WEIGHTS", raising=False)
    monkeypatch.delenv("FASHIONREC_DOWNLOAD_WEIGHTS", raising=False)
    attempts = []
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: attempts.append(a))
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert torchvision_weights_path("resnet18") == expected
    with pytest.raises(RuntimeError) as err:
        build_backbone("resnet18", pretrained=True)
    message = str(err.value)
    assert str(expected) in message and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "fashionrec weights resnet18" in message and "--weights DIR" in message
    assert "pretrained=false" in message
    assert attempts == []  # nothing is downloaded unless asked


def test_a_download_is_tried_only_when_asked_and_its_failure_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FASHIONREC_DOWNLOAD_WEIGHTS", "1")
    attempts = []

    def offline(url, dst, *args, **kwargs):
        attempts.append((url, dst))
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError) as err:
        build_backbone("resnet18", pretrained=True)
    assert "download failed" in str(err.value) and "resnet18-f37072fd.pth" in str(err.value)
    assert len(attempts) == 1 and attempts[0][1] == str(torchvision_weights_path("resnet18"))


def test_weights_are_read_from_a_folder_given_to_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("FASHIONREC_WEIGHTS", str(tmp_path / "w"))
    (tmp_path / "w").mkdir()
    torch.manual_seed(2)
    reference = backbones.torchvision.models.resnet18(weights=None).state_dict()
    torch.save(reference, tmp_path / "w" / "resnet18-f37072fd.pth")
    model = build_backbone("resnet18", pretrained=True)
    assert torch.equal(model.model.state_dict()["conv1.weight"], reference["conv1.weight"])


@pytest.mark.parametrize("name, reference_kw", [
    ("resnet18", {}),
    ("inception_v3", {"aux_logits": True, "init_weights": False}),   # the file has AuxLogits
])
def test_cached_torchvision_weights_load_offline(name, reference_kw, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = torchvision_weights_path(name)
    path.parent.mkdir(parents=True)
    torch.manual_seed(1)
    reference = getattr(backbones.torchvision.models, name)(weights=None, **reference_kw)
    reference_state = reference.state_dict()
    torch.save(reference_state, path)   # stands in for the real ImageNet file
    model = build_backbone(name, pretrained=True)   # downloads are patched to fail
    assert model.pretrained
    state = model.model.state_dict()
    assert set(state) == {k for k in reference_state
                          if not k.startswith(("fc.", "AuxLogits."))}
    for key, value in state.items():
        assert torch.equal(value, reference_state[key]), key
    size = model.min_size
    with torch.inference_mode():
        assert model.eval().features(torch.rand(1, 3, size, size)).shape == (1, model.dim)


# ---- images_to_tensor and extract_features ------------------------------------------------------

def _uint8_images(n=10, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_images_to_tensor():
    images = _uint8_images(2, 8)
    tensor = images_to_tensor(images)
    assert tensor.shape == (2, 3, 8, 8) and tensor.dtype == torch.float32
    assert float(tensor[1, 2, 3, 4]) == pytest.approx(images[1, 3, 4, 2] / 255)
    assert 0.0 <= float(tensor.min()) and float(tensor.max()) <= 1.0
    with pytest.raises(ValueError, match="uint8"):
        images_to_tensor(images.astype(np.float32))
    with pytest.raises(ValueError):
        images_to_tensor(images[0])


@pytest.fixture
def small():
    torch.manual_seed(0)
    return build_backbone("small_cnn", width=8)


def test_extract_features_shape_dtype_and_batching(small):
    images = _uint8_images(10)
    one_pass = extract_features(small, images, batch_size=64, progress=False)
    batched = extract_features(small, images, batch_size=3, progress=False)
    assert one_pass.shape == (10, 64) and one_pass.dtype == np.float32
    np.testing.assert_allclose(batched, one_pass, rtol=1e-5, atol=1e-5)
    assert small.training   # mode restored
    with torch.inference_mode():
        direct = small.eval().features(images_to_tensor(images)).numpy()
    np.testing.assert_allclose(one_pass, direct, rtol=1e-5, atol=1e-5)
    assert np.abs(one_pass[0] - one_pass[1]).max() > 1e-4


def test_uint8_and_float_inputs_give_the_same_features(lite0):
    images = _uint8_images(4)
    from_uint8 = extract_features(lite0, images, batch_size=2, progress=False)
    from_float = extract_features(lite0, images_to_tensor(images), batch_size=4, progress=False)
    np.testing.assert_allclose(from_uint8, from_float, rtol=1e-4, atol=1e-5)


def test_extract_features_rejects_bad_layouts(small):
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        extract_features(small, np.zeros((2, 3, 32, 32), np.uint8), progress=False)
    with pytest.raises(ValueError):
        extract_features(small, torch.zeros(2, 32, 32, 3), progress=False)


def _count_calls(model, monkeypatch):
    calls = []
    original = model.features

    def counting(images):
        calls.append(len(images))
        return original(images)

    monkeypatch.setattr(model, "features", counting)
    return calls


def test_cache_hit_returns_identical_array_without_recomputing(small, tmp_path, monkeypatch):
    calls = _count_calls(small, monkeypatch)
    images = _uint8_images(10)
    first = extract_features(small, images, batch_size=4, progress=False, cache_dir=tmp_path,
                             cache_key="toy-train")
    assert calls == [4, 4, 2]
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".npy"]   # no temporary file left behind
    assert files[0] == feature_cache_path(small, images, tmp_path, "toy-train")
    second = extract_features(small, images, batch_size=4, progress=False, cache_dir=tmp_path,
                              cache_key="toy-train")
    assert calls == [4, 4, 2]   # nothing recomputed
    np.testing.assert_array_equal(first, second)
    assert second.dtype == np.float32


def test_cache_file_depends_on_size_data_and_weights(small, tmp_path, monkeypatch):
    calls = _count_calls(small, monkeypatch)
    images = _uint8_images(6, size=32)
    extract_features(small, images, progress=False, cache_dir=tmp_path, cache_key="k")
    extract_features(small, _uint8_images(6, size=48), progress=False, cache_dir=tmp_path,
                     cache_key="k")
    assert len(calls) == 2 and len(list(tmp_path.glob("*.npy"))) == 2   # new size, new file

    # no cache_key: the image bytes decide
    extract_features(small, images, progress=False, cache_dir=tmp_path)
    extract_features(small, images.copy(), progress=False, cache_dir=tmp_path)
    assert len(calls) == 3
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    extract_features(small, changed, progress=False, cache_dir=tmp_path)
    assert len(calls) == 4 and len(list(tmp_path.glob("*.npy"))) == 4

    # other weights (after training, or another random init) must not reuse the file
    with torch.no_grad():
        small.blocks[0][0].weight.add_(0.1)
    extract_features(small, images, progress=False, cache_dir=tmp_path, cache_key="k")
    assert len(calls) == 5


def test_cache_key_distinguishes_backbones(small, lite0, tmp_path):
    images = _uint8_images(2)
    assert (feature_cache_path(small, images, tmp_path, "k")
            != feature_cache_path(lite0, images, tmp_path, "k"))
