"""Chapter 1's configuration: every knob of the Bi-LSTM + VSE and its smoke / standard / paper presets."""

from __future__ import annotations

from dataclasses import dataclass, field

from fashionrec.config import ChapterConfig, TrainConfig

# variant -> which loss terms it trains (forward RNN, backward RNN, VSE); scores use the same RNNs
VARIANTS: dict[str, tuple[bool, bool, bool]] = {
    "bilstm_vse": (True, True, True), "flstm_vse": (True, False, True), "blstm_vse": (False, True, True),
    "bilstm": (True, True, False), "vse": (False, False, True), "bigru_vse": (True, True, True),
    "birnn_vse": (True, True, True)}
# the recurrent cell of each variant (Table 1's Bi-GRU + VSE and Bi-RNN + VSE swap the LSTM cell); default LSTM
CELLS: dict[str, str] = {"bigru_vse": "gru", "birnn_vse": "rnn"}
METHODS: tuple[str, ...] = (*VARIANTS, "siamese", "setrnn")
LABELS = {"bilstm_vse": "Bi-LSTM + VSE (full)", "flstm_vse": "F-LSTM + VSE", "blstm_vse": "B-LSTM + VSE",
          "bilstm": "Bi-LSTM (no VSE)", "vse": "VSE only", "bigru_vse": "Bi-GRU + VSE", "birnn_vse": "Bi-RNN + VSE",
          "siamese": "SiameseNet", "setrnn": "SetRNN"}


@dataclass(frozen=True)
class Config(ChapterConfig):
    """Every knob of chapter 1; ``Config.for_profile(profile)`` gives the smoke / standard / paper presets.

    ``seeds``: one trained model per seed and method (the data and FashionWorld use ``seed``).
    """

    chapter: str = "bilstm"
    seeds: tuple[int, ...] = (0, 1, 2)
    image_size: int = 64
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    finetune: bool = False  # True: train the backbone end to end (paper); False: cache its features
    feature_level: str = "mid"  # frozen features: mean+max pool of this map of the backbone
    trunk_dim: int | None = 512  # a trainable layer on frozen features (stands in for fine-tuning)
    embed_dim: int = 128  # paper: 512
    lstm_dim: int = 128  # paper: 512
    dropout: float = 0.1  # on LSTM inputs and outputs (paper: keep probability 0.7, i.e. 0.3)
    input_dropout: float = 0.2  # on the frozen features
    margin: float = 0.2  # VSE hinge margin m
    siamese_margin: float = 0.8
    vse_weight: float = 3.0  # lambda of E_f + E_b + lambda E_e (paper: 1)
    softmax: str = "batch"  # X in training: the batch's distinct images (paper) | "pool": all training images
    min_word_count: int = 30  # paper: words seen < 30 times dropped
    max_words: int = 16
    max_items: int = 8  # paper: first 8 items of an outfit
    n_fitb: int = 1000
    max_train_outfits: int | None = None  # train on the first n training outfits only (None = all; a CPU size)
    methods: tuple[str, ...] = METHODS
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=8, batch_size=128, lr=3e-3, schedule="cosine", grad_clip=5.0))

    # the paper profile on 2 CPU cores (``fashionrec paper-path 01``): random weights (no ImageNet weights
    # offline), Inception-v3's smallest input, one epoch on 10 training outfits (one batch); the model and
    # the paper's hyper-parameters (batch 10, SGD lr 0.2, step schedule, dropout, margin, vocabulary rule) stay
    PAPER_ON_CPU = {"pretrained": False, "image_size": 75, "max_train_outfits": 10, "train": {"epochs": 1}}
    DATASETS = ("fashionworld", "polyvore", "polyvore_outfits")  # Maryland Polyvore | Polyvore Outfits
    PRESETS = {  # smoke = seconds (CI), standard = the book (FashionWorld), paper = GPU hours
        "smoke": dict(seeds=(0,), n_fitb=200, train=TrainConfig(epochs=6, batch_size=64, lr=3e-3,
                                                                 schedule="cosine")),
        "standard": {},
        "paper": dict(dataset="polyvore", data_root="data/polyvore", image_size=299, backbone="inception_v3",
                      finetune=True, trunk_dim=None, embed_dim=512, lstm_dim=512, dropout=0.3, input_dropout=0.0,
                      vse_weight=1.0, seeds=(0,),
                      train=TrainConfig(epochs=20, batch_size=10, lr=0.2, optimizer="sgd", momentum=0.0,
                                        schedule="step", step_epochs=2, step_gamma=0.5, grad_clip=5.0)),
    }
