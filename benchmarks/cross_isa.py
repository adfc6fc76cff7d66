"""Do the runner's kernel pins make the floats independent of the CPU? A cross-ISA check.

Trains a small model with the library's own parts (``small_cnn`` convolutions through oneDNN, an
LSTM cell and linear layers through MKL, Adam and the shared ``train.fit`` loop, float32 throughout) and
prints a digest of the trained weights and the final loss. Run it on two CPUs that differ in their
newest instructions, with the pins (``eval "$(python -m fashionrec pins)"``) and without; the digests
of the pinned runs must be equal. Without a second machine, emulate one without AVX-512:

    eval "$(.venv/bin/python -m fashionrec pins)"
    .venv/bin/python benchmarks/cross_isa.py                             # this CPU, pinned
    qemu-x86_64 -cpu Haswell .venv/bin/python benchmarks/cross_isa.py     # an AVX2-only Intel CPU
    qemu-x86_64 -cpu EPYC-Milan .venv/bin/python benchmarks/cross_isa.py  # an AVX2-only AMD CPU
    env -u ATEN_CPU_CAPABILITY -u ONEDNN_MAX_CPU_ISA -u MKL_CBWR .venv/bin/python benchmarks/cross_isa.py

(``qemu-x86_64`` is Debian's ``qemu-user``; an emulated run takes about 30 s.) ``--all FILE`` runs
those four itself and writes their lines as a Markdown table (the book's ``book/generated/cross_isa.md``). What it found on an
AMD EPYC with AVX-512: torch's float32 ``sqrt`` is not correctly rounded and differs between CPUs
(hence ``fashionrec.optim.Adam``), and MKL's sgemm and exp differ between Intel and AMD under
``MKL_CBWR=AVX2`` (hence ``COMPATIBLE``). oneDNN's fused LSTM kernel crashes under QEMU, so the model
uses an unrolled LSTM cell and that one kernel is not covered here.
"""

from __future__ import annotations

import hashlib
import os

import torch
from torch import nn

from fashionrec.backbones import build_backbone, images_to_tensor
from fashionrec.config import TrainConfig, seed_everything
from fashionrec.train import fit


class Tiny(nn.Module):
    """small_cnn features of each image -> an LSTM over a sequence of 4 images -> a score."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn = build_backbone("small_cnn", width=8)
        # an LSTM cell, unrolled: QEMU's emulator crashes in oneDNN's fused RNN kernel (nn.LSTM),
        # so that one kernel is not covered by the emulated check
        self.lstm = nn.LSTMCell(self.cnn.dim, 32)
        self.head = nn.Linear(32, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # (B, 4, 3, H, W) -> (B,)
        b, t = images.shape[:2]
        feats = self.cnn.features(images.flatten(0, 1)).view(b, t, -1)
        h = c = feats.new_zeros(b, 32)
        for step in range(t):
            h, c = self.lstm(feats[:, step], (h, c))
        return self.head(h).squeeze(1)


def main() -> None:
    import numpy as np

    gen = seed_everything(0)
    rng = np.random.default_rng(0)
    images = images_to_tensor(rng.integers(0, 256, size=(64 * 4, 32, 32, 3), dtype=np.uint8)).view(64, 4, 3, 32, 32)
    target = torch.from_numpy(rng.normal(size=64).astype(np.float32))
    batches = [(images[k:k + 16], target[k:k + 16]) for k in range(0, 64, 16)]
    model = Tiny()
    history = fit(model, batches, lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
                  TrainConfig(epochs=3, batch_size=16, lr=1e-3), progress=False)
    del gen
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.state_dict().values()))
    print(f"capability {torch.backends.cpu.get_cpu_capability()}, pins "
          f"{os.environ.get('ATEN_CPU_CAPABILITY')}/{os.environ.get('ONEDNN_MAX_CPU_ISA')}/"
          f"{os.environ.get('MKL_CBWR')}: last loss {history.rows[-1]['train_loss']!r}, "
          f"weights {digest.hexdigest()[:16]}")


def run_all(out: str) -> None:
    """The four runs of the docstring in subprocesses; their lines as a Markdown table in ``out``."""
    import datetime
    import platform
    import shutil
    import subprocess
    import sys

    from fashionrec.report import hardware
    from fashionrec.run import KERNEL_PINS

    pinned = {**os.environ, **KERNEL_PINS}
    unpinned = {k: v for k, v in pinned.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    cpu = hardware()["cpu"]
    me = [sys.executable, __file__]
    runs = [(f"{cpu}, pinned", me, pinned)]
    if shutil.which("qemu-x86_64"):
        runs += [(f"emulated {c} (qemu-user), pinned", ["qemu-x86_64", "-cpu", c, *me], pinned)
                 for c in ("Haswell", "EPYC-Milan")]
    runs.append((f"{cpu}, not pinned", me, unpinned))
    lines = [f"Output of `python benchmarks/cross_isa.py --all` ({datetime.date.today()}, Python "
             f"{platform.python_version()}, torch {torch.__version__}; pins: "
             f"{', '.join(f'{k}={v}' for k, v in KERNEL_PINS.items())}):", "",
             "| CPU | torch kernels | last loss | digest of the trained weights |", "|---|---|---|---|"]
    for name, cmd, env in runs:
        text = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        head, loss, weights = text.split(": last loss ")[0], *text.split(": last loss ")[1].split(", weights ")
        lines.append(f"| {name} | {head} | {loss} | `{weights}` |")
        print(lines[-1], flush=True)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--all":
        run_all(sys.argv[2])
    else:
        main()
