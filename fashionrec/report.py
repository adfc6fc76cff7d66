"""Results and runs: record each headline number once, where the book and the tests can read it.

``start_run`` makes ``runs/<chapter>/<profile>/<key>/``, where the key digests the config, the code
the chapter runs (``store.code_digest``: a changed loss or a fixed bug gets a new folder, so nothing
stale is reloaded) and the data's digest. It writes ``config.json`` once, when it makes the folder (config, code digest, data,
seed, git commit, package versions, device) and a fresh, empty ``metrics.json``. ``record`` glues a
number into the notebook and adds it to that ``metrics.json``.

Glue keys follow one scheme: ``ch<N>_<what>`` (``ch1_fitb_type``, ``ch2_claim_c_beats_a``), lower
case with underscores; book pages cite them as ``{glue:text}`../notebooks/NN_name.ipynb::key:.3f```.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("fashionrec", "torch", "torchvision", "numpy", "scikit-learn", "scikit-image", "faiss-cpu")
_current: Path | None = None
_T0 = time.perf_counter()  # when the notebook first imported the library: its first code cell
_clock: dict[str, Any] = {"setup": None, "stages": []}  # report.setup's time and the timed stages


def runs_root() -> Path:
    """``$FASHIONREC_RUNS``, else ``runs/`` in the source checkout."""
    return Path(os.environ.get("FASHIONREC_RUNS", REPO / "runs"))


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable digest of a run's config, code and data (the run folder's name): ``store.key``."""
    from fashionrec import store

    return store.key(config, size=5)


def environment() -> dict[str, Any]:
    """Git commit, package versions, Python and machine: what a reader needs to reproduce a run."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"git_commit": commit, "packages": versions, "python": platform.python_version(),
            "machine": platform.machine(), "hardware": hardware()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_isa() -> str:
    """The newest vector ISA the CPU has (from /proc/cpuinfo's flags): what native kernels would use."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    return next((name for flag, name in (("amx_tile", "AVX512 with AMX"), ("avx512f", "AVX512"),
                                         ("avx2", "AVX2")) if flag in flags), "no AVX2")


def hardware() -> dict[str, Any]:
    """What decides the float results of a run: CPU model and cores, torch's CPU kernel capability,
    threads, the BLAS / oneDNN builds and the kernel-pinning variables, the GPU if any."""
    import torch

    config = torch.__config__.show()
    mkl = next((line.strip(" -") for line in config.splitlines() if "Math Kernel Library" in line), None)
    onednn = next((line.strip(" -") for line in config.splitlines() if "MKL-DNN" in line or "oneDNN" in line),
                  None)
    pins = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS")
    return {"cpu": _cpu_model(), "cpu_isa": _cpu_isa(), "cores": os.cpu_count(),
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(), "mkl": mkl, "onednn": onednn,
            "kernel_env": {k: os.environ.get(k) for k in pins},
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def start_run(config: Any, device: str = "cpu", root: Path | None = None, *, code: str | None = None,
              data: str = "") -> Path:
    """Create (or reuse) the run folder of ``config`` (a dataclass with ``chapter`` and ``profile``).

    Args:
        config: the chapter's config.
        device: recorded in config.json.
        root: the runs folder (default ``runs_root()``).
        code: the module whose code the run depends on (its ``store.code_digest``, which follows its
            imports); default: the package that defines ``config``'s class.
        data: a digest of the data, for data that the config does not name exactly (real datasets).
    """
    from fashionrec import store

    global _current
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    if code is None:
        module = type(config).__module__
        code = module.rpartition(".")[0] if module.count(".") >= 2 else module
    code_version = store.code_digest(code) if code.startswith("fashionrec") else ""
    path = (root or runs_root()) / cfg["chapter"] / cfg["profile"] / config_hash(
        {"config": cfg, "code": code_version, "data": data})
    path.mkdir(parents=True, exist_ok=True)
    info = {"config": cfg, "seed": cfg.get("seed"), "device": str(device), "code": code,
            "code_digest": code_version, "data_digest": data, **environment()}
    if not (path / "config.json").exists():  # provenance is written once, by the run that trains the weights
        store.save_json(path / "config.json", info)
    store.save_json(path / "metrics.json", {})  # fresh for every run: a stale value cannot be read back
    _current = path
    return path


@dataclasses.dataclass(frozen=True)
class Setup:
    """What ``setup`` hands a notebook: the run folder and the device."""

    run_dir: Path
    device: Any  # torch.device


def setup(config: Any, data: str = "", code: str | None = None) -> Setup:
    """A notebook's one setup call: seed everything with ``config.seed``, pick the device, open the run folder.

    ``data``: the data's digest (each chapter's data container has one), part of the run folder's key.
    """
    from fashionrec.config import seed_everything, select_device

    seed_everything(config.seed)
    device = select_device(config.device)
    _clock.update(setup=time.perf_counter(), stages=[], extra=[])
    return Setup(start_run(config, str(device), code=code, data=data), device)


def add_time(stage: str, seconds: float, **extra: Any) -> None:
    """Add a timed stage (``train.fit`` adds each training, with its samples and peak GPU memory) to
    the run's ``timings.json`` (what ``scripts/gpu_check.sh`` reads)."""
    _clock["stages"].append((stage, float(seconds)))
    _clock.setdefault("extra", []).append({"stage": stage, "seconds": float(seconds), **extra})
    if _current is not None:
        from fashionrec import store

        store.save_json(_current / "timings.json", {"stages": _clock["extra"]})


def stage_times(now: float | None = None) -> list[tuple[str, float, int]]:
    """(stage, seconds, count) since the library was imported: "data and setup" (up to ``setup``),
    each kind of training (``train.fit``'s label with its numbers as #, e.g. "siamese seed #"), and
    "features, evaluation, figures and the rest" (what remains)."""
    now = time.perf_counter() if now is None else now
    setup_at = _clock["setup"] if _clock["setup"] is not None else _T0
    groups: dict[str, list[float]] = {}
    for name, seconds in _clock["stages"]:
        groups.setdefault(re.sub(r"\d+", "#", name), []).append(seconds)
    rows = [("data and setup", setup_at - _T0, 1)]
    rows += [(f"training: {name}", sum(v), len(v)) for name, v in groups.items()]
    trained = sum(sum(v) for v in groups.values())
    rows.append(("features, evaluation, figures and the rest", max(0.0, now - setup_at - trained), 1))
    return rows


@dataclasses.dataclass(frozen=True)
class Box:
    """A page's reproducibility box: Markdown in the book, plain text in a terminal."""

    markdown: str
    text: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.text


def reproducibility_box(config: Any = None) -> Box:
    """The chapter's reproducibility box: the machine, the software, the run and the wall time of each
    stage. It is not a receipt (times and machines differ from run to run); the receipts above it are
    what reproduces, bit for bit, on any x86-64 CPU with AVX2 under the runner's kernel pins."""
    hw, env = hardware(), environment()
    pins = {k: v for k, v in hw["kernel_env"].items() if v}
    kernels = (f"pinned ({', '.join(f'{k}={v}' for k, v in pins.items())})" if pins.get("ATEN_CPU_CAPABILITY")
               else "native (not pinned: the last digits may differ from the book's)")
    versions = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v and k != "fashionrec")
    rows = [("machine", f"{hw['cpu']} ({hw['cpu_isa']}), {hw['cores']} cores; torch CPU kernels "
                        f"{hw['torch_cpu_capability']}, "
                        f"{hw['torch_threads']} threads" + (f"; GPU {hw['gpu']}" if hw["gpu"] else "")),
            ("kernels", kernels),
            ("software", f"Python {env['python']}, {versions}; {hw['mkl'] or 'no MKL'}; {hw['onednn'] or 'no oneDNN'}"),
            ("code", f"git {env['git_commit'][:12]}" + (f", run folder {_current.relative_to(runs_root())}"
                                                        if _current is not None and _current.is_relative_to(runs_root())
                                                        else ""))]
    if config is not None:
        over = getattr(config, "overridden", ())
        rows.insert(0, ("run", f"profile {config.profile}, dataset {config.dataset}, seeds "
                               f"{', '.join(map(str, config.seeds))}"
                               + (f"; set beyond the preset: {', '.join(over)}" if over else "")
                               + f"; device {config.device}"))
    times = stage_times()
    total = sum(t for _, t, _ in times)
    time_rows = [(name + (f" (×{n})" if n > 1 else ""), f"{t:.0f} s") for name, t, n in times]
    md = ["**Reproducibility.** The numbers in the receipts reproduce bit for bit on any x86-64 CPU with "
          "AVX2 under the runner's kernel pins (check: `bash scripts/test.sh --book`); on a GPU, expect "
          "them within the printed spread. This run:", "", "| | |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in rows]
    md += ["", f"| wall time since the first import: {total:.0f} s | |", "|---|---:|"]
    md += [f"| {k} | {v} |" for k, v in time_rows]
    text = ["Reproducibility", *(f"  {k}: {v}" for k, v in rows), f"  wall time since the first import: {total:.0f} s",
            *(f"    {k}: {v}" for k, v in time_rows)]
    if config is not None:  # for the page's opening summary ("At a glance"); text, so never a receipt
        prefix = CHAPTER_PREFIX.get(config.chapter, config.chapter)
        _glue(f"{prefix}_machine", f"{hw['cpu']}, {hw['cores']} cores" + (f", GPU {hw['gpu']}" if hw["gpu"] else ""))
        _glue(f"{prefix}_wall", f"{total / 60:.0f} min" if total >= 90 else f"{total:.0f} s")
    return Box("\n".join(md), "\n".join(text))


# the glue-key prefix of each chapter's package (``ch<N>_<what>``)
CHAPTER_PREFIX = {"fashionworld": "ch0", "bilstm": "ch1", "fashionnet": "ch2", "c2s": "ch3",
                  "joint_embedding": "ch4", "ctl": "ch5"}


def _glue(key: str, value: Any) -> None:
    """Glue ``value`` into the page without adding it to ``metrics.json`` (text that is not a result)."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(key, value, display=False)


def glance(prefix: str, findings: pd.DataFrame) -> pd.DataFrame:
    """The page's opening summary of its claims, glued as ``<prefix>_glance``: one line per claim of the
    chapter's findings table (``claims.claims_table``): what was compared, on which metric, the paired
    difference over seeds, the verdict and what the paper says. Returns the table."""
    keep = [c for c in ("metric", "difference", "verdict", "paper") if c in findings.columns]
    table = findings[keep].rename(columns={"difference": "ours (paired difference)", "paper": "the paper"})
    _glue(f"{prefix}_glance", table)
    return table


def record(key: str, value: Any, display: bool = False) -> None:
    """Record a headline number: glue it into the notebook and add it to the run's metrics.json."""
    if isinstance(value, float):
        value = float(value)
    try:
        from myst_nb import glue

        glue(key, value, display=display)
    except ImportError:  # outside a notebook toolchain: still write the JSON
        pass
    if _current is not None:
        path = _current / "metrics.json"
        metrics = json.loads(path.read_text()) if path.exists() else {}
        metrics[key] = value
        from fashionrec import store

        store.save_json(path, metrics)


def record_all(values: dict[str, Any]) -> None:
    """``record`` every ``key -> value`` of a chapter's headline numbers (one call per notebook section)."""
    for key, value in values.items():
        record(key, value)


def load_metrics(chapter: str, profile: str, root: Path | None = None) -> dict[str, Any]:
    """metrics.json of the newest run of ``chapter`` on ``profile`` (what the tests check)."""
    runs = sorted(((root or runs_root()) / chapter / profile).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise FileNotFoundError(f"no run of {chapter!r} on {profile!r} under {root or runs_root()}")
    return json.loads(runs[-1].read_text())
