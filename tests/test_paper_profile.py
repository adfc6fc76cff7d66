"""The `paper` profile reads the paper's dataset: the notebook's own parameter path, as papermill runs it.

papermill injects the given parameters in a cell after the `parameters` cell; the next cell that calls
``for_profile`` builds the config. A notebook default (``dataset = None``) must never replace the paper
preset's real dataset (on de11737, ``run 01 --profile paper -p data_root=...`` trained on FashionWorld).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[1-5]_*.py"))


def _config_from_notebook(path: Path, **injected):
    nb = jupytext.read(path)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    params = next(k for k, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    setup = next(c for c in cells[params + 1:] if "for_profile(" in c.source)
    namespace: dict = {}
    exec(cells[params].source, namespace)
    namespace.update(injected)  # what papermill's injected-parameters cell does
    exec(setup.source, namespace)
    return namespace["cfg"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paper_profile_reads_the_paper_dataset_from_the_given_root(path, tmp_path):
    cfg = _config_from_notebook(path, profile="paper", data_root=str(tmp_path))
    preset = type(cfg).PRESETS["paper"]
    assert cfg.profile == "paper"
    assert cfg.dataset == preset["dataset"] != "fashionworld", f"{path.name}: the paper profile reads {cfg.dataset}"
    assert cfg.data_root == str(tmp_path)
    default = _config_from_notebook(path)  # the book: FashionWorld, standard
    assert (default.profile, default.dataset) == ("standard", "fashionworld")
