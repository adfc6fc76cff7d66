"""The chapters open where learners work (issue 16): a Jupyter server from the project's environment,
started as the README says (``jupyter lab notebooks/``: the server's root is ``notebooks/``), serves
each chapter through its contents API as a notebook, and a notebook saved there is written to both
paired files (jupytext), so a reader's edits reach the ``.py`` source and the ``.ipynb``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fashionrec.run import find_notebooks

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "fashionrec-test"
CHAPTERS = find_notebooks(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
                                     method="GET" if body is None else "PUT")
    with urllib.request.urlopen(request, timeout=30) as response:  # 127.0.0.1 only
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server on a copy of ``notebooks/`` (its sources and its jupytext.toml, no .ipynb), so that
    saving does not touch the repository; yields (base URL, the copy)."""
    copy = tmp_path_factory.mktemp("book") / "notebooks"
    copy.mkdir()
    for path in [*CHAPTERS, ROOT / "notebooks" / "jupytext.toml"]:
        shutil.copy(path, copy / path.name)
    port = _free_port()
    log_path = copy.parent / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={copy}", "--allow-root"],  # CI is root
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "JUPYTER_RUNTIME_DIR": str(copy.parent)})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):  # bounded: at most 60 s to start
                if proc.poll() is not None:
                    pytest.fail(f"jupyter server exited: {log_path.read_text()[-2000:]}")
                try:
                    _call(f"{base}/api/status")
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"jupyter server did not answer in 60 s: {log_path.read_text()[-2000:]}")
            yield base, copy
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_opens_as_a_notebook(server, source: Path):
    base, _ = server
    model = _call(f"{base}/api/contents/{source.name}?type=notebook&content=1")
    assert model["type"] == "notebook" and model["format"] == "json"
    cells = model["content"]["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert any("parameters" in c["metadata"].get("tags", []) for c in code)
    assert len(code) >= 3 and cells[0]["cell_type"] == "markdown" and cells[0]["source"].startswith("# ")


def test_a_notebook_saved_in_jupyter_is_written_to_both_paired_files(server):
    base, copy = server
    name = CHAPTERS[-1].name
    nb = _call(f"{base}/api/contents/{name}?type=notebook&content=1")["content"]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "A reader's note.", "id": "note"})
    _call(f"{base}/api/contents/{name}", {"type": "notebook", "format": "json", "content": nb})
    assert "# A reader's note." in (copy / name).read_text()
    paired = copy / Path(name).with_suffix(".ipynb").name
    assert paired.exists() and "A reader's note." in paired.read_text()
