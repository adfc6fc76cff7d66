"""Chapter 4's figures: the joint visual-textual embedding (Sadeh et al. 2019, Fig. 2) drawn with its shapes."""

from __future__ import annotations

from dataclasses import replace

from matplotlib.figure import Figure

from fashionrec import plots
from fashionrec.joint_embedding.config import Config
from fashionrec.joint_embedding.model import CNNEncoder, JointEmbedding
from fashionrec.joint_embedding.train import make_encoder


def model_diagram(cfg: Config, image_dim: int, vocab_size: int) -> Figure:
    """The joint embedding of ``cfg`` (CNN features of ``image_dim``, ``vocab_size`` words) as boxes and
    arrows, each arrow labelled with its tensor's shape, read from the ``JointEmbedding`` it builds
    (B items of the batch)."""
    encoder = make_encoder(replace(cfg, pretrained=False))
    model = JointEmbedding(image_dim, vocab_size, cfg.dim, encoder)
    d, v, s = model.image_fc.out_features, model.word_embedding.shape[0], cfg.image_size
    cnn = (f"{cfg.backbone}\n(fine-tuned)" if isinstance(model.encoder, CNNEncoder)
           else f"{cfg.backbone}\n(frozen, cached)")
    boxes = {
        "image": (0, 3, f"product image\n(B, 3, {s}, {s})"),
        "cnn": (5, 3, cnn),
        "fc": (10, 3, f"FC\n{model.image_fc.in_features} -> {d}"),
        "text": (0, 0, f"text: bag of words\n({v} kept words)"),
        "words": (10, 0, f"f_T = sum of word\nembeddings ({v}, {model.word_embedding.shape[1]})"),
        "cosine": (15, 1.5, f"cosine S_(I,T)\nsoftmax / tau, tau = {cfg.tau:g}"),
        "mbmr": (20, 1.5, "MBMR loss\n-log P(T_i|I_i) - log P(I_i|T_i)"),
        "attr": (15, 4.5, f"attribute head: FC\n{model.attribute_head.in_features} -> "
                            f"{model.attribute_head.out_features}, sigmoid"),
        "bce": (20, 4.5, f"multi-label BCE\nx lambda = {cfg.attr_weight:g}"),
    }
    arrows = [("image", "cnn", ""), ("cnn", "fc", f"(B, {image_dim})"), ("fc", "cosine", f"f_I (B, {d})"),
              ("fc", "attr", f"f_I (B, {d})"), ("text", "words", f"(B, {v}) counts"),
              ("words", "cosine", f"f_T (B, {d})"), ("cosine", "mbmr", "(B, B)"), ("attr", "bce", f"p_w (B, {v})")]
    return plots.block_diagram(boxes, arrows, box_size=(3.6, 1.0),
                               title=f"The joint embedding ({cfg.profile} profile): arrows carry the tensors' shapes")
