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
    "OMP_NUM_THREADS": "2",  # reductions split the same way on every machine
    "MKL_NUM_THREADS": "2",
}
"""What the runner pins so that the float results do not depend on the machine: every x86-64 CPU with
AVX2 runs the same AVX2 kernels (MKL its vendor-neutral path) with the same number of threads,
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
        params[key] = yaml.safe_load(value)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{source.stem}.ipynb"
    try:
        papermill.execute_notebook(nb, str(out), parameters=parameters or None, kernel_name="python3",
                                   language="python", cwd=str(source.parent), progress_bar=False,
                                   execution_timeout=timeout)
    except PapermillExecutionError as err:
        raise NotebookFailed(f"{source.name} failed in cell {err.cell_index} (execution count "
                             f"{err.exec_count}): {err.ename}: {err.evalue}\n  executed notebook with "
                             f"the traceback: {out}") from None
    return out


def run_notebooks(names: list[str] | None, out_dir: Path, profile: str = DEFAULT_PROFILE,
                  params: dict[str, Any] | None = None, keep_going: bool = False,
                  native_kernels: bool = False) -> list[str]:
    """Execute the chosen notebooks in order with a progress line each; return the failures.

    The CPU kernels are pinned first (``pin_kernels``) unless ``native_kernels``.
    """
    from .config import check_profile

    check_profile(profile)
    pin_kernels(native_kernels)
    _absolute_runs_root()

    def run_one(k: int, n: int, source: Path) -> Path:
        print(f"[{k}/{n}] {source.stem} (profile {profile}) ...", flush=True)
        return execute(source, out_dir, profile, params)

    return _each(find_notebooks(names), run_one, keep_going)


def _absolute_runs_root() -> None:
    """Notebooks run in notebooks/: a relative ``$FASHIONREC_RUNS`` would land there."""
    if "FASHIONREC_RUNS" in os.environ:
        os.environ["FASHIONREC_RUNS"] = str(Path(os.environ["FASHIONREC_RUNS"]).resolve())


def _each(sources: list[Path], run_one: Any, keep_going: bool) -> list[str]:
    """``run_one(k, n, source)`` for each source with a progress line; the failures (stop at the first
    unless ``keep_going``)."""
    failures = []
    for k, source in enumerate(sources, 1):
        start = time.perf_counter()
        try:
            out = run_one(k, len(sources), source)
        except NotebookFailed as err:
            print(f"[{k}/{len(sources)}] FAILED {err}", flush=True)
            failures.append(str(err))
            if not keep_going:
                break
            continue
        print(f"[{k}/{len(sources)}] {source.stem} done in {time.perf_counter() - start:.0f} s -> {out}", flush=True)
    return failures


def paper_path(names: list[str] | None, out_dir: Path, keep_going: bool = False,
               image_size: int = 96) -> list[str]:
    """Each chapter's ``paper`` profile, end to end, on a smoke-sized export of its paper dataset.

    For chapter ``NN_key``: ``fashionrec.export`` writes the smoke FashionWorld in the layout of the
    paper preset's dataset under ``out_dir/exports/<format>`` (with the real data's quirks), then the
    notebook runs with ``profile="paper"`` on it and the chapter's explicit CPU size overrides
    (``Config.PAPER_ON_CPU``, recorded in the run's ``overridden``). Returns the failures.
    """
    import importlib
    import json

    from .export import export

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

    return _each([s for s in find_notebooks(names) if s.stem[:2] != "00"], run_one, keep_going)


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
