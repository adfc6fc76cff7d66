"""The artefact store: one cache root, one key scheme, atomic writes, run folders keyed honestly.

Everything the library keeps on disk goes through here:

- ``cache_root()``: ``$FASHIONREC_CACHE``, else ``data/cache`` of the source checkout.
- ``key(*parts)``: a digest of everything that decides a file's content (weights digest, data
  digest, transform, format version). Arrays and tensors are hashed by their bytes, dtype and shape.
- ``atomic_write(path, write)``: write to a temporary file in the same folder, then rename, so an
  interrupt or a second process never leaves half a file.
- ``cached_array(folder, parts, compute, shape=...)``: the one cached-computation entry point; a
  cached file whose shape does not match is recomputed, never returned.
- ``code_digest(module)``: a digest of the source of ``module`` and of every ``fashionrec`` module
  it imports, directly or not (uncommitted edits count). Run folders include it, so changing a
  loss retrains and an unchanged chapter reloads.
- ``Standardiser``: per-dimension standardisation fitted on training rows only.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1  # bump when the layout of a cached file changes
PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent


def cache_root() -> Path:
    """``$FASHIONREC_CACHE``, else ``data/cache`` of the source checkout, else ``~/.cache/fashionrec``."""
    if os.environ.get("FASHIONREC_CACHE"):
        return Path(os.environ["FASHIONREC_CACHE"])
    repo_data = REPO / "data"
    return repo_data / "cache" if repo_data.is_dir() else Path.home() / ".cache" / "fashionrec"


# ----- keys ---------------------------------------------------------------------------------------
def _feed(h: Any, part: Any) -> None:
    """Hash ``part`` into ``h``: arrays and tensors by dtype, shape and bytes, the rest as JSON."""
    if hasattr(part, "detach") and hasattr(part, "cpu"):  # a torch tensor
        part = part.detach().cpu().contiguous().numpy()
    if isinstance(part, np.ndarray):
        arr = np.ascontiguousarray(part)
        h.update(f"ndarray{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.reshape(-1).view(np.uint8))
    elif isinstance(part, (list, tuple)) and any(isinstance(p, np.ndarray) or hasattr(p, "detach") for p in part):
        h.update(f"seq{len(part)}".encode())
        for p in part:
            _feed(h, p)
    else:
        if dataclasses.is_dataclass(part) and not isinstance(part, type):
            part = {"__class__": type(part).__name__, **dataclasses.asdict(part)}
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
    h.update(b"\x00")


def key(*parts: Any, size: int = 12) -> str:
    """A hex digest of ``parts`` (``2 * size`` characters): the store's one key scheme."""
    h = hashlib.blake2b(digest_size=size)
    for part in (FORMAT_VERSION, *parts):
        _feed(h, part)
    return h.hexdigest()


def digest_array(array: Any) -> str:
    """Digest of one array's dtype, shape and bytes (a data digest)."""
    return key(np.asarray(array) if not hasattr(array, "detach") else array, size=16)


# ----- atomic files -------------------------------------------------------------------------------
def atomic_write(path: Path | str, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_array(path: Path | str, array: np.ndarray) -> Path:
    """``np.save`` atomically (no pickles: object arrays are refused)."""
    array = np.asarray(array)
    if array.dtype == object:
        raise TypeError(f"{path}: object arrays are not stored (they would need pickle)")
    return atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))


def load_array(path: Path | str, shape: tuple[int | None, ...] | None = None,
               mmap_mode: str | None = None) -> np.ndarray | None:
    """Load a stored array; None when it is missing, unreadable or not of ``shape`` (None = any size).

    ``mmap_mode="r"`` maps the file instead of reading it (region maps at paper scale).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (OSError, ValueError, EOFError):
        return None
    if shape is not None and (array.ndim != len(shape)
                              or any(s is not None and s != a for s, a in zip(shape, array.shape))):
        return None
    return array


def save_json(path: Path | str, obj: Any) -> Path:
    """JSON, indented and sorted, written atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str)
    return atomic_write(path, lambda f: f.write(text), mode="w")


def save_torch(path: Path | str, obj: Any) -> Path:
    """``torch.save`` atomically (load it back with ``torch.load(path, weights_only=True)``)."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def cached_array(folder: str | Path, parts: Iterable[Any] | dict[str, Any], compute: Callable[[], np.ndarray], *,
                 shape: tuple[int | None, ...] | None = None, name: str = "array",
                 root: Path | str | None = None, enabled: bool = True,
                 mmap_mode: str | None = None) -> np.ndarray:
    """The result of ``compute()``, cached as ``<root>/<folder>/<name>-<key(parts)>.npy``.

    ``parts`` must hold everything that decides the result (weights digest, data digest, transform,
    sizes). A cached file is used only when its shape matches ``shape``; else it is recomputed.
    ``enabled=False`` computes without touching the disk; ``mmap_mode="r"`` returns a memory map of
    the cached file (also right after computing it).
    """
    if not enabled:
        return compute()
    parts = dict(sorted(parts.items())) if isinstance(parts, dict) else list(parts)
    path = Path(root or cache_root()) / folder / f"{name}-{key(parts)}.npy"
    cached = load_array(path, shape, mmap_mode)
    if cached is not None:
        return cached
    result = np.asarray(compute())
    if shape is not None and (result.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, result.shape))):
        raise ValueError(f"cached_array({name!r}): compute() returned shape {result.shape}, expected {shape}")
    save_array(path, result)
    return result if mmap_mode is None else load_array(path, None, mmap_mode)


# ----- code digests -------------------------------------------------------------------------------
def module_file(module: str) -> Path | None:
    """The source file of a ``fashionrec`` module (``__init__.py`` for a package), None if none."""
    if module != "fashionrec" and not module.startswith("fashionrec."):
        return None
    rel = Path(*module.split(".")[1:])
    for path in (PACKAGE / rel / "__init__.py", (PACKAGE / rel).with_suffix(".py")):
        if path.is_file():
            return path
    return None


def module_imports(module: str) -> set[str]:
    """The ``fashionrec`` modules that ``module`` imports anywhere in its source (top level or inside
    functions; ``from pkg import name`` counts as ``pkg.name`` when that is a module)."""
    path = module_file(module)
    if path is None:
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n if module_file(n) else base for n in names]
        else:
            continue
        found |= {n for n in names if module_file(n) is not None and n != module}
    return found


def import_graph(root: str = "fashionrec") -> dict[str, set[str]]:
    """Every ``fashionrec`` module under ``root`` -> the ``fashionrec`` modules it imports."""
    graph: dict[str, set[str]] = {}
    base = module_file(root)
    folder = base.parent if base and base.name == "__init__.py" else None
    modules = [root]
    if folder is not None:
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(PACKAGE.parent).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            modules.append(".".join(parts))
    for module in dict.fromkeys(modules):
        graph[module] = module_imports(module)
    return graph


@lru_cache(maxsize=None)
def _dependencies(module: str) -> tuple[str, ...]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += module_imports(current)
        path = module_file(current)
        if path is not None and path.name == "__init__.py":  # a package: all of its modules
            todo += [m for m in import_graph(current) if m != current]
    return tuple(sorted(seen))


def code_digest(module: str, within: str = "fashionrec") -> str:
    """Digest of the source files of ``module`` and of everything in ``fashionrec`` it imports.

    ``within`` keeps only the modules under that prefix (the world's cache key follows the generator's
    own modules, not the config or store helpers it calls).
    """
    files = [module_file(m) for m in _dependencies(module) if m == within or m.startswith(within + ".")]
    return key(*[(str(p.relative_to(PACKAGE)), p.read_bytes().hex()) for p in files if p is not None])


# ----- standardiser -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Standardiser:
    """Per-dimension (x - mean) / (std + eps), with mean and std from the training rows only."""

    mean: np.ndarray
    std: np.ndarray
    eps: float = 1e-6

    @classmethod
    def fit(cls, train: np.ndarray, eps: float = 1e-6) -> "Standardiser":
        train = np.asarray(train, dtype=np.float64)
        if train.ndim != 2 or len(train) == 0:
            raise ValueError(f"Standardiser.fit needs a non-empty (N, D) array; got shape {train.shape}")
        return cls(train.mean(0), train.std(0), eps)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"Standardiser fitted on {self.mean.shape[0]} dimensions, got {x.shape[-1]}")
        return ((x - self.mean) / (self.std + self.eps)).astype(np.float32)
