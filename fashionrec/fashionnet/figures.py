"""Chapter 2's figures: the three FashionNet architectures (He & Hu 2018, Fig. 2) drawn with their shapes."""

from __future__ import annotations

from dataclasses import replace

from matplotlib.figure import Figure
from torch import nn

from fashionrec import plots
from fashionrec.fashionnet.config import ARCHS, PAIRS, SLOTS, Config
from fashionrec.fashionnet.model import FashionNet, MapHead, build_model


def _sizes(net: nn.Module) -> str:
    """The widths of a stack of Linear layers: "a -> b -> c"."""
    layers = [m for m in net.modules() if isinstance(m, nn.Linear)]
    return " -> ".join(str(n) for n in [layers[0].in_features, *(m.out_features for m in layers)])


def _feature_box(model: FashionNet, cfg: Config, name: str) -> str:
    if isinstance(model.features, MapHead):
        head = model.features
        return (f"{name}\n1x1 conv {head.conv.in_features} -> {head.conv.out_features},"
                f"\npool, FC -> {model.feature_dim}")
    return f"{name}\n{cfg.backbone} -> {model.feature_dim}"


def model_diagram(cfg: Config, in_dim: int) -> Figure:
    """FashionNet A, B and C of ``cfg``, one row each, every arrow labelled with its tensor's shape, read
    from the models ``build_model`` makes for items of ``in_dim`` channels (B outfits of 3 items)."""
    feature, matching = {}, {}
    for arch in ARCHS:  # one model at a time: on the paper profile each holds a VGG-16
        model = build_model(arch, replace(cfg, pretrained=False), in_dim)
        feature[arch] = _feature_box(model, cfg, "feature net" if arch == "A" else "shared feature net")
        nets = model.matching if isinstance(model.matching, nn.ModuleList) else [model.matching]
        matching[arch] = [_sizes(net) for net in nets]
        del model
    grid = cfg.grid if cfg.cached_features else cfg.image_size
    item = f"({in_dim}, {grid}, {grid})"
    d = cfg.feature_dim
    boxes = {
        "a_in": (0, 9, f"A: 3 items stacked\non channels\n(B, {3 * in_dim}, {grid}, {grid})"),
        "a_cnn": (5, 9, feature["A"]),
        "a_fc": (10, 9, f"FC + softmax\n{matching['A'][0]}"),
        "a_s": (15, 9, "s = P(like)"),
        "b_in": (0, 5.5, f"B: {', '.join(SLOTS)}\neach {item}"),
        "b_cnn": (5, 5.5, feature["B"]),
        "b_fc": (10, 5.5, f"concat, 3 FC + softmax\n{matching['B'][0]}"),
        "b_s": (15, 5.5, "s = P(like)"),
        "c_in": (0, 2, f"C: {', '.join(SLOTS)}\neach {item}"),
        "c_cnn": (5, 2, feature["C"]),
        "c_s": (15, 2, "s = sum of the\npairs' P(like)"),
        "loss": (20, 5.5, "rank loss\nlog(1 + exp(-(s+ - s-)))"),
    }
    arrows = [("a_in", "a_cnn", ""), ("a_cnn", "a_fc", f"(B, {d})"), ("a_fc", "a_s", "(B, 2)"),
              ("b_in", "b_cnn", f"(3B, {in_dim}, {grid}, {grid})"), ("b_cnn", "b_fc", f"(B, 3 x {d})"),
              ("b_fc", "b_s", "(B, 2)"), ("c_in", "c_cnn", f"(3B, {in_dim}, {grid}, {grid})"),
              ("a_s", "loss", "(B,)"), ("b_s", "loss", "(B,)"), ("c_s", "loss", "(B,)")]
    for k, ((p, q), sizes) in enumerate(zip(PAIRS, matching["C"])):
        name = f"c_pair{k}"
        boxes[name] = (10, 3.2 - 1.2 * k, f"{SLOTS[p]}-{SLOTS[q]} net\n{sizes}")
        arrows += [("c_cnn", name, f"(B, 2 x {d})"), (name, "c_s", "(B, 2)")]
    return plots.block_diagram(boxes, arrows, box_size=(3.6, 0.9),
                               title=f"FashionNet A, B, C ({cfg.profile} profile): arrows carry the tensors' shapes")
