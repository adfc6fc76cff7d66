"""The notebooks: paired sources in sync, one parameters cell, and the smoke runs' results in range."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from fashionrec import report
from fashionrec.run import find_notebooks

ROOT = Path(__file__).resolve().parents[1]
SOURCES = find_notebooks()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_paired_notebook_is_in_sync_and_executed(source: Path):
    """notebooks/NN.ipynb is generated from NN.py (same cells) and carries outputs (the book shows it)."""
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `python -m fashionrec run {source.stem} --out notebooks`"
    py = jupytext.read(source)
    nb = nbformat.read(paired, as_version=4)
    assert [c.source for c in py.cells] == [c.source for c in nb.cells], (
        f"{paired.name} is out of sync with {source.name}: re-run `python -m fashionrec run {source.stem} --out notebooks`")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{paired.name} has unexecuted cells"
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_one_parameters_cell_with_the_common_parameters(source: Path):
    cells = [c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{source.name}: expected one cell tagged parameters, found {len(cells)}"
    for name in ("profile", "dataset", "data_root", "device", "seed"):
        assert f"{name} =" in cells[0].source, f"{source.name}: parameters cell lacks {name!r}"
    assert 'profile = "standard"' in cells[0].source
    # papermill reads each parameter line; a second "=" (e.g. in a comment) makes it warn "Unable to parse"
    assert not [line for line in cells[0].source.splitlines() if line.count("=") > 1], source.name


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_receipt_cells_exist(source: Path):
    tags = [c.metadata.get("tags", []) for c in jupytext.read(source).cells]
    assert any("nbval-check-output" in t for t in tags), f"{source.name} has no nbval-check-output cell"


SMOKE_RANGES = {  # (key, low, high): oracles above chance and below 1 on the smoke world
    "fashionworld": [("world_fitb_type_oracle", 0.45, 0.99), ("world_fitb_random_oracle", 0.6, 1.0),
                     ("world_compat_oracle", 0.75, 0.99), ("world_rank_oracle", 0.6, 0.995),
                     ("world_ctl_oracle", 0.6, 0.99), ("world_c2s_oracle", 0.2, 1.0)],
}


@pytest.mark.smoke_outputs
@pytest.mark.parametrize("chapter, key, low, high",
                         [(c, k, lo, hi) for c, rows in SMOKE_RANGES.items() for k, lo, hi in rows])
def test_smoke_results_in_range(chapter, key, low, high):
    runs = Path(os.environ.get("FASHIONREC_RUNS", ROOT / "build" / "runs"))
    metrics = report.load_metrics(chapter, "smoke", root=runs)
    assert low <= metrics[key] <= high, f"{chapter} {key} = {metrics[key]} outside [{low}, {high}]"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_code_cells_fit_the_page(source: Path):
    """Code lines of at most 88 columns: the rendered book cuts longer ones off at the right edge."""
    long = [(k, line) for cell in jupytext.read(source).cells if cell.cell_type == "code"
            for k, line in enumerate(cell.source.splitlines()) if len(line) > 88]
    assert not long, f"{source.name}: {len(long)} code lines over 88 columns, e.g. {long[0][1]!r}"


@pytest.mark.parametrize("source", [s for s in SOURCES if "claims.claims_table(" in s.read_text()],
                         ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_claims_at_a_glance(source: Path):
    """Before the parameters: the claims tested and their verdicts (glued from the claims table),
    what was easy and hard to reproduce, and the machine and wall time of the run (issue 16)."""
    cells = jupytext.read(source).cells
    first_code = next(k for k, c in enumerate(cells) if c.cell_type == "code")
    opening = "\n".join(c.source for c in cells[:first_code] if c.cell_type == "markdown")
    prefix = f"ch{int(source.stem[:2])}"
    for needed in ("## At a glance", f"{{glue:}} {prefix}_glance", "**Easy to reproduce:**",
                   "**Hard to reproduce:**", f"{{glue:text}}`{prefix}_machine`", f"{{glue:text}}`{prefix}_wall`"):
        assert needed in opening, f"{source.name}: the opening lacks {needed!r}"
    assert f'report.glance("{prefix}", findings)' in source.read_text(), source.name


@pytest.mark.parametrize("source", [s for s in SOURCES if "report.setup(" in s.read_text()], ids=lambda p: p.stem)
def test_every_chapter_ends_with_its_reproducibility_box(source: Path):
    """The last code cell prints the machine, the kernels and each stage's wall time (issue 14)."""
    code = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert code[-1].source.strip() == "report.reproducibility_box(cfg)", source.name


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # a "\b" or "\t" in a non-raw string, typed into TeX


def test_no_control_characters_in_any_page_source():
    """Issue 16: chapter 2's FiLM equation held backspaces and tabs where ``\\big``, ``\\beta`` and ``\\text``
    were meant. Tabs are not used in the sources either."""
    sources = [*ROOT.glob("notebooks/*.py"), *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("book/**/*.md"),
               ROOT / "README.md", *ROOT.glob("fashionrec/**/*.py")]

    def text(path: Path) -> str:  # an .ipynb escapes control characters in its JSON: read its cells
        if path.suffix == ".ipynb":
            return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
        return path.read_text(encoding="utf-8")

    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:60]!r}" for p in sources
             for n, line in enumerate(text(p).splitlines(), 1) if CONTROL.search(line) or "\t" in line]
    assert len(sources) > 40 and not found, "\n".join(found)
