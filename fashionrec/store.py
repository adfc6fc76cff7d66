"""The artefact store: one cache root, one key scheme, atomic writes, run folders keyed honestly.

Everything the library keeps on disk goes through here:

- ``cache_root()``: ``$FASHIONREC_CACHE``, else ``data/cache`` of the source checkout.
- ``key(*parts)``: a digest of everything that decides a file's content (weights digest, data
  digest, transform, format version). Arrays and tensors are hashed by their bytes, dtype and shape.
- ``atomic_write(path, write)``: write to a temporary file in the same folder, then rename, so an
  interrupt or a second process never leaves half a file.
- ``cached_array(folder, parts, compute, shape=...)``: the one cached-computation entry point; a
  cached file whose shape does not match is recomputed, never returned.
- ``read_or_explain(path, read, ...)``: the one way to read a stored file back. A damaged checkpoint
  raises ``DamagedFile`` naming the file and saying to delete it; a damaged cache warns in one line
  (``RebuiltCache``) and is computed again. ``load_torch``, ``load_json`` and ``load_array`` use it.
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
    """Load a cached array; None when it is missing, or (with a ``RebuiltCache`` warning naming the file)
    unreadable or not of ``shape`` (None = any size): the caller computes it again.

    ``mmap_mode="r"`` maps the file instead of reading it (region maps at paper scale).
    """
    path = Path(path)
    if not path.exists():
        return None

    def read(p: Path) -> np.ndarray:
        array = np.load(p, allow_pickle=False, mmap_mode=mmap_mode)
        if not isinstance(array, np.ndarray):  # an .npz archive under an .npy name
            raise ValueError(f"holds {type(array).__name__}, not one array")
        if shape is not None and not _fits(array.shape, shape):
            raise ValueError(f"holds shape {array.shape}, expected {_shape_text(shape)}")
        return array

    return read_or_explain(path, read, what="cached array", cache=True)


def _fits(found: tuple[int, ...], shape: tuple[int | None, ...]) -> bool:
    return len(found) == len(shape) and all(s is None or s == a for s, a in zip(shape, found))


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


# ----- reading stored files back: load, or explain -----------------------------------------------
class DamagedFile(ValueError):
    """A stored file (a checkpoint) that cannot be read as what it should be; the message names it,
    says what is wrong and what to do."""


class RebuiltCache(UserWarning):
    """A cache file that could not be used (damaged, or not of the expected shape); it is computed again."""


def read_or_explain(path: Path | str, read: Callable[[Path], Any], *, what: str = "checkpoint",
                    keys: Iterable[str] = (), fix: str = "", cache: bool = False) -> Any:
    """``read(path)``, or one clear outcome when the file is damaged: truncated, of another format, not a
    dict with ``keys``, or refused by ``read`` (any exception it raises says what is wrong).

    A checkpoint (``cache=False``) raises ``DamagedFile``: "<path>: damaged <what>: <problem>. Delete it
    <fix>." (``fix`` names another way out, e.g. "or call fit(..., resume=False)"). A cache
    (``cache=True``) warns in one line (``RebuiltCache``, naming the file) and returns None, so that the
    caller computes it again (its atomic write then replaces the damaged file).
    """
    path = Path(path)
    try:
        obj = read(path)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 - every library's own error for a damaged file
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        problem = f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__
        if isinstance(err, ValueError) and type(err) is ValueError and text:
            problem = text[:200]  # our own checks (shape, consistency) read as they are
    else:
        keys = list(keys)
        if not keys:
            return obj
        if not isinstance(obj, dict):
            problem = f"holds a {type(obj).__name__}, not a dict with {', '.join(map(repr, keys))}"
        elif missing := [k for k in keys if k not in obj]:
            problem = f"lacks the key(s) {', '.join(map(repr, missing))}"
        else:
            return obj
    if cache:
        import warnings

        warnings.warn(f"{path}: {what} not usable ({problem}); rebuilding it", RebuiltCache, stacklevel=3)
        return None
    raise DamagedFile(f"{path}: damaged {what}: {problem}. Delete it{' ' + fix if fix else ''}.")


def load_torch(path: Path | str, *, keys: Iterable[str] = (), what: str = "checkpoint", fix: str = "",
               cache: bool = False, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` through ``read_or_explain`` (a damaged file names itself)."""
    import torch

    return read_or_explain(path, lambda p: torch.load(p, map_location=map_location, weights_only=True),
                           what=what, keys=keys, fix=fix, cache=cache)


def load_json(path: Path | str, *, keys: Iterable[str] = (), what: str = "cache file", fix: str = "",
              cache: bool = True) -> Any:
    """A JSON file (UTF-8) through ``read_or_explain``: a cache by default (None and a warning when damaged)."""
    return read_or_explain(path, lambda p: json.loads(p.read_text(encoding="utf-8")), what=what, keys=keys,
                           fix=fix, cache=cache)


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
    if shape is not None and not _fits(result.shape, shape):
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
