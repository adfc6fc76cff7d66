"""Results and runs: record each headline number once, where the book and the tests can read it.

``start_run`` makes ``runs/<chapter>/<profile>/<config-hash>/`` with ``config.json`` (the full
config, seed, git commit, package versions, device); ``record`` glues a number into the notebook
(book pages cite it with ``{glue:text}``) and adds it to that folder's ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("fashionrec", "torch", "torchvision", "numpy", "scikit-learn", "scikit-image", "faiss-cpu")
_current: Path | None = None


def runs_root() -> Path:
    """``$FASHIONREC_RUNS``, else ``runs/`` in the source checkout."""
    return Path(os.environ.get("FASHIONREC_RUNS", REPO / "runs"))


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable hash of a config (the run folder's name)."""
    return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]


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
            "machine": platform.machine()}


def start_run(config: Any, device: str = "cpu", root: Path | None = None) -> Path:
    """Create (or reuse) the run folder of ``config`` (a dataclass with ``chapter`` and ``profile``)."""
    global _current
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    path = (root or runs_root()) / cfg["chapter"] / cfg["profile"] / config_hash(cfg)
    path.mkdir(parents=True, exist_ok=True)
    info = {"config": cfg, "seed": cfg.get("seed"), "device": str(device), **environment()}
    (path / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True, default=str))
    _current = path
    return path


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
        path.write_text(json.dumps(metrics, indent=2, sort_keys=True))


def load_metrics(chapter: str, profile: str, root: Path | None = None) -> dict[str, Any]:
    """metrics.json of the newest run of ``chapter`` on ``profile`` (what the tests check)."""
    runs = sorted(((root or runs_root()) / chapter / profile).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise FileNotFoundError(f"no run of {chapter!r} on {profile!r} under {root or runs_root()}")
    return json.loads(runs[-1].read_text())
