"""Sphinx extension: the book renders with no network (no widget manager from a CDN).

The executed notebooks hold tqdm progress bars as Jupyter widgets. Rendering them would need
require.js and the widgets' HTML manager from a CDN, and they only show a frozen bar; the
stage times are in each page's reproducibility box instead. So the reader drops them.
"""

from __future__ import annotations

import nbformat
from sphinx.application import Sphinx

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Read an .ipynb, without its widget outputs and widget state (myst-nb reader)."""
    nb = nbformat.reads(text, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if WIDGET_VIEW not in out.get("data", {})]
    return nb


def setup(app: Sphinx) -> dict:
    """Nothing to register: `_config.yml` names `read_notebook` as the `.ipynb` reader."""
    return {"parallel_read_safe": True, "parallel_write_safe": True}
