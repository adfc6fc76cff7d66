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
    "MKL_CBWR": "AVX2",  # MKL's conditional bitwise reproducibility branch
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS kernels
    "OMP_NUM_THREADS": "2",  # reductions split the same way on every machine
    "MKL_NUM_THREADS": "2",
}
"""What the runner pins so that the float results do not depend on the machine: every x86-64 CPU with
AVX2 runs the same AVX2 kernels with the same number of threads, whatever newer instructions it has.
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


def execute(source: Path, out_dir: Path, profile: str = DEFAULT_PROFILE,
            params: dict[str, Any] | None = None, timeout: int | None = None) -> Path:
    """Run one notebook source with papermill; return the executed notebook's path."""
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = dict(params or {})
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
    if "FASHIONREC_RUNS" in os.environ:  # notebooks run in notebooks/: a relative path would land there
        os.environ["FASHIONREC_RUNS"] = str(Path(os.environ["FASHIONREC_RUNS"]).resolve())
    sources = find_notebooks(names)
    failures = []
    for k, source in enumerate(sources, 1):
        print(f"[{k}/{len(sources)}] {source.stem} (profile {profile}) ...", flush=True)
        start = time.perf_counter()
        try:
            out = execute(source, out_dir, profile, params)
        except NotebookFailed as err:
            print(f"[{k}/{len(sources)}] FAILED {err}", flush=True)
            failures.append(str(err))
            if not keep_going:
                break
            continue
        print(f"[{k}/{len(sources)}] {source.stem} done in {time.perf_counter() - start:.0f} s -> {out}", flush=True)
    return failures


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
