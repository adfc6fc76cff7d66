"""Chapter 5's figures: the Complete the Look model (Kang et al. 2019) drawn with its shapes."""

from __future__ import annotations

from dataclasses import replace

from matplotlib.figure import Figure

from fashionrec import plots
from fashionrec.ctl.config import Config
from fashionrec.ctl.data import CTLData
from fashionrec.ctl.train import build_model


def model_diagram(cfg: Config, data: CTLData) -> Figure:
    """The CTL head of ``cfg`` on ``data``'s cached features as boxes and arrows, each arrow labelled with
    its tensor's shape, read from the features and the model ``build_model`` makes (B scenes, K products
    each, R regions)."""
    model = build_model(data, replace(cfg, standardize=False))
    split = data.splits["train"]
    _, c, h, w = split.regions.shape
    d, r = model.region.out_features, h * w
    scene_dim, product_dim = split.scene_global.shape[1], data.products.shape[1]
    levels = " + ".join(cfg.global_levels)
    boxes = {
        "scene": (0, 3, f"scene, product box masked\n(B, 3, {cfg.scene_size}, {cfg.scene_size})"),
        "cnn_s": (5.5, 3, f"{cfg.backbone} (frozen)\npooled {levels};\n{cfg.region_level} map"),
        "e_s": (11, 4.5, f"scene MLP\n{model.scene[0].in_features} -> {model.scene[0].out_features} -> "
                        f"{model.scene[-1].out_features}, L2"),
        "f_i": (11, 1.5, f"regions: 1x1 conv\n{model.region.in_features} -> {d}, L2"),
        "cat": (11, -1, f"category c\nembedding ({model.category.num_embeddings}, {d})"),
        "att": (16.5, -0.5, "attention a_i =\nsoftmax_i(-||f_i - e_c||^2)"),
        "product": (0, 7, f"product images\n(B, K, 3, {cfg.product_size}, {cfg.product_size})"),
        "cnn_p": (5.5, 7, f"{cfg.backbone} (frozen)\npooled {levels}"),
        "e_p": (11, 7, f"product MLP\n{model.product[0].in_features} -> {model.product[0].out_features} -> "
                        f"{model.product[-1].out_features}, L2"),
        "d_g": (16.5, 6, "d_g = ||e(s) - e(p)||^2"),
        "d_l": (16.5, 2.5, "d_l = sum_i a_i\n||f_i - e(p)||^2"),
        "d": (22, 4.2, f"d = (d_g + d_l) / 2\ntriplet hinge, m = {cfg.margin:g}"),
    }
    arrows = [("scene", "cnn_s", ""), ("cnn_s", "e_s", f"(B, {scene_dim})"),
              ("cnn_s", "f_i", f"(B, {c}, {h}, {w})"), ("product", "cnn_p", ""),
              ("cnn_p", "e_p", f"(B, K, {product_dim})"), ("e_s", "d_g", f"e(s) (B, {d})"),
              ("e_p", "d_g", f"e(p) (B, K, {d})"), ("f_i", "att", f"(B, {r}, {d})"),
              ("cat", "att", f"e_c (B, {d})"), ("f_i", "d_l", f"f_i (B, {r}, {d})"), ("att", "d_l", f"a (B, {r})"),
              ("e_p", "d_l", ""), ("d_g", "d", "(B, K)"), ("d_l", "d", "(B, K)")]
    return plots.block_diagram(boxes, arrows, box_size=(3.6, 1.1),
                               title=f"Complete the Look ({cfg.profile} profile): arrows carry the tensors' shapes")
