"""Print each chapter notebook's size: code lines, import lines, plumbing share, lines over 88 columns.

Plumbing = code lines of receipt cells (tagged nbval-check-output), lines that record or set up runs
(``report.``), touch caches, or guard on the dataset (``on_world``, ``world is not None``,
``dataset ==``). Usage: ``python scripts/chapter_sizes.py [NOTEBOOK_FOLDER]``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext

PLUMBING = re.compile(r"report\.|cache|on_world|world is not None|dataset ==|data\.world")


def sizes(path: Path) -> dict[str, object]:
    cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    code, imports, plumbing, long = 0, 0, 0, 0
    for cell in cells:
        receipt = "nbval-check-output" in cell.metadata.get("tags", [])
        for line in cell.source.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            code += 1
            imports += bool(re.match(r"\s*(import|from) \S+", line))
            plumbing += receipt or bool(PLUMBING.search(line))
            long += len(line) > 88
    return {"chapter": path.stem, "lines": len(path.read_text().splitlines()), "code lines": code,
            "import lines": imports, "plumbing": f"{plumbing / max(code, 1):.0%}", "over 88 cols": long}


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "notebooks"
    rows = [sizes(p) for p in sorted(folder.glob("0[1-5]_*.py"))]
    print(" | ".join(rows[0]))
    for row in rows:
        print(" | ".join(str(v) for v in row.values()))
