"""Execute the book's notebooks with papermill: ``python -m fashionrec run 01 --profile smoke --out build/smoke``.

The source of each chapter is ``notebooks/NN_name.py`` (jupytext percent format); it is read with
jupytext and executed by papermill into ``--out``. Nothing is injected when the profile is the
notebooks' default (``standard``) and no ``-p`` is given, so the executed notebook's inputs stay
identical to the ``.py`` (the book renders ``notebooks/NN_name.ipynb`` made this way).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DEFAULT_PROFILE = "standard"
KERNEL_PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's vectorised CPU kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN convolutions and matmuls
    # MKL's conditional bitwise reproducibility branch: "COMPATIBLE" is the one code path MKL runs
    # alike on Intel and AMD CPUs; with "AVX2", sgemm and exp differed between an AMD EPYC and an
    # (emulated) Intel Haswell (benchmarks/cross_isa.py). No measurable cost on the smoke chapters.
    "MKL_CBWR": "COMPATIBLE",
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS kernels
    # one thread per notebook: reductions split the same way on every machine, a 1-core machine
    # included, and ``fashionrec run --jobs N`` runs N notebooks side by side instead (faster on 2 cores
    # than one notebook on 2 threads: much of a chapter is single-threaded Python)
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""What the runner pins so that the float results do not depend on the machine: every x86-64 CPU with
AVX2 runs the same AVX2 kernels (MKL its vendor-neutral path) on one thread,
whatever newer instructions it has. With ``fashionrec.optim.Adam`` (a correctly rounded square root),
``benchmarks/cross_isa.py`` trains to the same bits on an AMD EPYC with AVX-512 and on emulated
AVX2-only Intel Haswell and AMD EPYC-Milan CPUs.
``fashionrec run --native-kernels`` (or ``FASHIONREC_NATIVE_KERNELS=1``) leaves them to the machine."""


def pin_kernels(native: bool = False) -> dict[str, str]:
    """Set ``KERNEL_PINS`` in this process's environment (the notebook kernels inherit it); return them."""
    if native or os.environ.get("FASHIONREC_NATIVE_KERNELS") == "1":
        return {}
    os.environ.update(KERNEL_PINS)
    return dict(KERNEL_PINS)


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names the notebook, the cell and the error."""


def find_notebooks(names: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The ``.py`` sources matching ``names`` ("01", "01_bilstm", "bilstm"); all of them when empty."""
    sources = sorted(folder.glob("[0-9][0-9]_*.py"))
    if not names:
        return sources
    chosen = []
    for name in names:
        hits = [p for p in sources if p.stem == name or p.stem.startswith(f"{name}_") or p.stem[3:] == name]
        if not hits:
            known = ", ".join(p.stem for p in sources)
            raise ValueError(f"no notebook matches {name!r} in {folder}; known: {known}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=3", "device=cuda"]`` -> ``{"epochs": 3, "device": "cuda"}`` (YAML scalars)."""
    import yaml

    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {pair!r} is not of the form key=value")
        try:
            params[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ValueError(f"-p {pair}: the value is not a YAML scalar, list or mapping "
                             f"({(str(err).splitlines() or [''])[0]})") from None
    return params


def notebook_parameters(nb: Any) -> set[str]:
    """The names assigned in a notebook's ``parameters`` cell."""
    import re

    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    return {m.group(1) for c in cells for m in re.finditer(r"^(\w+)\s*=", c.source, re.M)}


def fold_overrides(params: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Move ``-p`` values that are not notebook parameters into the ``overrides`` dict (config fields).

    ``-p pretrained=false -p train.epochs=1`` -> ``overrides={"pretrained": False, "train": {"epochs": 1}}``,
    so any config field can be set from the command line; a notebook without ``overrides`` keeps them as is.
    """
    if "overrides" not in names:
        return params
    out = {k: v for k, v in params.items() if k in names}
    overrides = dict(out.get("overrides") or {})
    for key, value in params.items():
        if key in names:
            continue
        *path, last = key.split(".")
        node = overrides
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    if overrides:
        out["overrides"] = overrides
    return out


def parameter_types(source: Path) -> dict[str, Any]:
    """What ``-p`` may set for one notebook: name -> expected type (``Any``: not checked).

    The names of its ``parameters`` cell (typed by ``config.ChapterConfig``'s fields) and, when it has
    ``overrides``, every field of its chapter's ``Config`` (``fashionrec/<key>/config.py``), the fields
    of a nested config dotted (``train.epochs``). ``chapter`` and ``overridden`` are not settable.
    """
    import dataclasses
    import importlib

    import jupytext

    from .config import ChapterConfig

    names = notebook_parameters(jupytext.read(source))
    base = _hints(ChapterConfig)
    types: dict[str, Any] = {n: dict if n == "overrides" else base.get(n, Any) for n in names}
    if "overrides" not in names:
        return types
    try:
        cfg_cls = importlib.import_module(f"fashionrec.{source.stem[3:]}.config").Config
    except (ImportError, AttributeError):
        return types
    hints = _hints(cfg_cls)
    for f in dataclasses.fields(cfg_cls):
        if f.name in ("chapter", "overridden") or f.name in types:
            continue
        hint = hints.get(f.name, Any)
        types[f.name] = hint
        if dataclasses.is_dataclass(hint):
            types |= {f"{f.name}.{k}": v for k, v in _hints(hint).items()
                      if k in {g.name for g in dataclasses.fields(hint)}}
    return types


def _hints(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved is not checked
        return {}


def _type_name(hint: Any) -> str:
    import typing

    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is not None or not isinstance(hint, type):
        return str(hint).replace("typing.", "")
    return hint.__name__


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` as ``hint`` expects it (a number given as text is converted, a tuple becomes a list for
    papermill); a TypeError or ValueError when it is not of that type. None means "not set": always fine."""
    import dataclasses
    import types
    import typing

    if value is None or hint is Any:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            try:
                return _coerce(value, arm)
            except (TypeError, ValueError):
                continue
        raise TypeError(hint)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and (isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str)):
        return int(value)
    if hint is float and (number or isinstance(value, str)):
        return float(value)
    if hint is str and (isinstance(value, str) or number):
        return str(value)
    if origin is tuple and isinstance(value, (list, tuple)):
        if args and args[-1] is Ellipsis:
            return [_coerce(v, args[0]) for v in value]
        if args and len(args) != len(value):
            raise ValueError(hint)
        return [_coerce(v, a) for v, a in zip(value, args)] if args else list(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        nested = _hints(hint)
        if unknown := sorted(set(value) - {f.name for f in dataclasses.fields(hint)}):
            raise ValueError(f"no field(s) {', '.join(unknown)}")
        return {k: _coerce(v, nested.get(k, Any)) for k, v in value.items()}
    if (origin is dict or hint is dict) and isinstance(value, dict):
        return value
    if hint in (bool, int, float, str) or origin is tuple or dataclasses.is_dataclass(hint) or hint is dict:
        raise TypeError(hint)
    return value  # a type this check does not know: left to the notebook


def check_params(params: dict[str, Any], sources: list[Path]) -> dict[Path, dict[str, Any]]:
    """The ``-p`` values each notebook gets, checked against ``parameter_types``: a name that no chosen
    notebook knows, or a value of the wrong type, is a ValueError of one line naming it (with the closest
    valid name and the list of valid ones, or the expected type). A name only some notebooks know goes
    to those only."""
    import difflib

    types = {source: parameter_types(source) for source in sources}
    known = sorted({name for t in types.values() for name in t})
    per_source: dict[Path, dict[str, Any]] = {source: {} for source in sources}
    for name, value in params.items():
        users = [s for s in sources if name in types[s]]
        if not users:
            where = sources[0].stem if len(sources) == 1 else f"any of {len(sources)} notebooks"
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"-p {name}: not a parameter of {where}{hint}; valid names: {', '.join(known)}")
        for source in users:
            try:
                per_source[source][name] = _coerce(value, types[source][name])
            except (TypeError, ValueError) as err:
                detail = f" ({err})" if isinstance(err, ValueError) and "no field" in str(err) else ""
                raise ValueError(f"-p {name}={value!r}: {name} of {source.stem} must be "
                                 f"{_type_name(types[source][name])}; got {value!r} "
                                 f"({type(value).__name__}){detail}") from None
    return per_source


def check_out(out_dir: Path) -> Path:
    """``out_dir`` created if needed and writable, as an absolute path (papermill chdirs into each
    notebook's folder while it runs, which would move a relative path of a notebook running beside it),
    else a ValueError of one line naming it."""
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir}: is a file, not a folder; give a folder for the executed notebooks")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        import tempfile

        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise ValueError(f"--out {out_dir}: not a writable folder ({err.strerror or err}); "
                         f"give a folder you can write to") from None
    return out_dir


def execute(source: Path, out_dir: Path, profile: str = DEFAULT_PROFILE,
            params: dict[str, Any] | None = None, timeout: int | None = None) -> Path:
    """Run one notebook source with papermill; return the executed notebook's path."""
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = fold_overrides(dict(params or {}), notebook_parameters(nb))
    if profile != DEFAULT_PROFILE:
        parameters["profile"] = profile
    out_dir = Path(out_dir).resolve()  # papermill chdirs into ``cwd`` while it runs: see check_out
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{source.stem}.ipynb"
    try:
        papermill.execute_notebook(nb, str(out), parameters=parameters or None, kernel_name="python3",
                                   language="python", cwd=str(source.parent), progress_bar=False,
                                   execution_timeout=timeout,
                                   # the kernel's start-up and shutdown log lines ("running over TCP
                                   # without encryption", "KeyboardInterrupt caught") are not failures
                                   extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as err:
        raise NotebookFailed(f"{source.name} failed in cell {err.cell_index} (execution count "
                             f"{err.exec_count}): {err.ename}: {err.evalue}\n  executed notebook with "
                             f"the traceback: {out}") from None
    return out


def run_notebooks(names: list[str] | None, out_dir: Path, profile: str = DEFAULT_PROFILE,
                  params: dict[str, Any] | None = None, keep_going: bool = False,
                  native_kernels: bool = False, jobs: int | None = None) -> list[str]:
    """Execute the chosen notebooks with a progress line each; return the failures.

    The CPU kernels are pinned first (``pin_kernels``) unless ``native_kernels``. ``jobs`` notebooks
    run at a time (default ``default_jobs()`` when pinned, else 1: native kernels use every core);
    each notebook's numbers do not depend on it.
    """
    from .config import check_profile

    check_profile(profile)
    check_jobs(jobs)
    sources = find_notebooks(names)
    per_source = check_params(dict(params or {}), sources)  # before anything runs: one line per mistake
    out_dir = check_out(out_dir)
    pinned = bool(pin_kernels(native_kernels))
    _absolute_runs_root()

    def run_one(k: int, n: int, source: Path) -> Path:
        print(f"[{k}/{n}] {source.stem} (profile {profile}) ...", flush=True)
        return execute(source, out_dir, profile, per_source[source])

    return _each(sources, run_one, keep_going, jobs if jobs is not None else default_jobs() if pinned else 1)


def _absolute_runs_root() -> None:
    """Notebooks run in notebooks/: a relative ``$FASHIONREC_RUNS`` would land there."""
    if "FASHIONREC_RUNS" in os.environ:
        os.environ["FASHIONREC_RUNS"] = str(Path(os.environ["FASHIONREC_RUNS"]).resolve())


def _each(sources: list[Path], run_one: Any, keep_going: bool, jobs: int = 1) -> list[str]:
    """``run_one(k, n, source)`` for each source with a progress line; the failures (stop starting new
    ones after the first unless ``keep_going``). ``jobs > 1``: that many at a time (threads, each
    driving its own kernel process), the longest first (``longest_first``)."""
    from concurrent.futures import ThreadPoolExecutor

    n, failures, stop = len(sources), [], False

    def one(k: int, source: Path) -> None:
        nonlocal stop
        if stop:
            return
        start = time.perf_counter()
        try:
            out = run_one(k, n, source)
        except NotebookFailed as err:
            print(f"[{k}/{n}] FAILED {err}", flush=True)
            failures.append(str(err))
            stop = not keep_going
            return
        print(f"[{k}/{n}] {source.stem} done in {time.perf_counter() - start:.0f} s -> {out}", flush=True)

    number = {source: k for k, source in enumerate(sources, 1)}
    if jobs == 1:
        for source in sources:
            one(number[source], source)
        return failures
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(one, number[source], source) for source in longest_first(sources)]:
            future.result()
    return failures


def check_jobs(jobs: int | None) -> None:
    """``--jobs``: None (the default) or at least 1, else a ValueError of one line. Checked before a run
    changes anything."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs {jobs}: give 1 or more notebooks at a time")


def longest_first(paths: list[Path]) -> list[Path]:
    """``paths`` (notebook sources or pages) ordered by ``expected_seconds``, the longest first."""
    return sorted(paths, key=lambda p: -expected_seconds(p))


def expected_seconds(source: Path) -> float:
    """How long a notebook last took: the wall time papermill recorded in its committed page
    (``notebooks/<name>.ipynb``), 0 when there is none. Only orders the work of ``--jobs``."""
    import json

    page = source.with_suffix(".ipynb")
    try:
        return float(json.loads(page.read_text())["metadata"]["papermill"]["duration"] or 0)
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def xdist_order(pages: list[Path], workers: int) -> list[Path]:
    """``pages`` in the order that lets ``pytest -n workers --dist loadfile --no-loadscope-reorder``
    finish soonest: pytest-xdist hands each worker two files at the start and then one more to whichever
    worker runs dry, so the ``workers`` longest come first (``expected_seconds``), then the ``workers``
    shortest (each worker's second file), then the rest, longest first (a longest-first schedule)."""
    ranked = longest_first(pages)
    head, rest = ranked[:workers], ranked[workers:]
    return head + rest[::-1][:workers] + rest[:max(0, len(rest) - workers)]


def default_jobs() -> int:
    """Notebooks at a time when ``--jobs`` is not given: the cores over the pinned threads, 1 to 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores // int(KERNEL_PINS["OMP_NUM_THREADS"])))


def paper_path(names: list[str] | None, out_dir: Path, keep_going: bool = False,
               image_size: int = 96, jobs: int | None = None) -> list[str]:
    """Each chapter's ``paper`` profile, end to end, on a smoke-sized export of its paper dataset.

    For chapter ``NN_key``: ``fashionrec.export`` writes the smoke FashionWorld in the layout of the
    paper preset's dataset under ``out_dir/exports/<format>`` (with the real data's quirks), then the
    notebook runs with ``profile="paper"`` on it and the chapter's explicit CPU size overrides
    (``Config.PAPER_ON_CPU``, recorded in the run's ``overridden``). Returns the failures.
    """
    import importlib
    import json

    from .export import export

    check_jobs(jobs)
    out_dir = check_out(out_dir)
    pin_kernels()
    os.environ["FASHIONREC_CHECKPOINTS"] = "0"  # paper networks' checkpoints: GBs a run, not needed here
    _absolute_runs_root()

    def run_one(k: int, n: int, source: Path) -> Path:
        cfg_cls = importlib.import_module(f"fashionrec.{source.stem[3:]}").Config
        fmt = cfg_cls.PRESETS["paper"]["dataset"]
        root = (out_dir / "exports" / fmt).resolve()
        print(f"[{k}/{n}] {source.stem}: exporting {fmt} -> {root}", flush=True)
        print(export(fmt, root, "smoke", 0, image_size).summary(), flush=True)
        params = {"dataset": fmt, "data_root": str(root), "device": "cpu",
                  "overrides": json.loads(json.dumps(cfg_cls.PAPER_ON_CPU))}  # tuples -> lists for papermill
        print(f"[{k}/{n}] {source.stem} (profile paper, overrides {params['overrides']}) ...", flush=True)
        return execute(source, out_dir, "paper", params)

    return _each([s for s in find_notebooks(names) if s.stem[:2] != "00"], run_one, keep_going,
                 default_jobs() if jobs is None else jobs)


def receipts(path: Path) -> list[tuple[str, str]]:
    """The receipt cells of an executed notebook: (source, text output) of each cell tagged
    ``nbval-check-output``, in order (what nbval compares and what a reader checks)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "nbval-check-output" not in cell.metadata.get("tags", []):
            continue
        text = "".join(o.get("text", "") if o.get("output_type") == "stream"
                       else o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        out.append((cell.source, text))
    return out


def compare_receipts(a: Path, b: Path) -> list[str]:
    """Lines of a unified diff between the receipt outputs of two executed notebooks (empty: identical)."""
    import difflib

    ra, rb = receipts(a), receipts(b)
    lines: list[str] = []
    if [s for s, _ in ra] != [s for s, _ in rb]:
        lines.append(f"the receipt cells differ in their code ({len(ra)} vs {len(rb)} cells)")
    for k, ((_, ta), (_, tb)) in enumerate(zip(ra, rb)):
        if ta != tb:
            lines += list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), f"{a.name} receipt {k}",
                                               f"{b.name} receipt {k}", lineterm=""))
    return lines
