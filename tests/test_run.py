"""The notebook runner: finding notebooks, parameters, a good run and a failing cell."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from fashionrec import cli, run

NOTEBOOK = """# %% tags=["parameters"]
profile = "standard"
seed = 0

# %%
print(f"profile={profile} seed={seed}")

# %%
if seed == 13:
    raise ValueError("unlucky seed")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "07_demo.py").write_text(NOTEBOOK)
    (tmp_path / "08_other.py").write_text(NOTEBOOK)
    return tmp_path


def test_find_notebooks_by_number_stem_or_key(folder):
    assert [p.stem for p in run.find_notebooks(None, folder)] == ["07_demo", "08_other"]
    for name in ("07", "07_demo", "demo"):
        assert [p.stem for p in run.find_notebooks([name], folder)] == ["07_demo"]
    with pytest.raises(ValueError, match="no notebook matches 'nine'.*07_demo"):
        run.find_notebooks(["nine"], folder)


def test_the_book_has_its_notebooks():
    stems = [p.stem for p in run.find_notebooks()]
    assert "00_introduction" in stems and "00_fashionworld" in stems


def test_parse_params_types_and_errors():
    assert run.parse_params(["epochs=3", "lr=0.1", "device=cuda", "flag=true"]) == {
        "epochs": 3, "lr": 0.1, "device": "cuda", "flag": True}
    with pytest.raises(ValueError, match="key=value"):
        run.parse_params(["epochs"])


def test_execute_injects_profile_and_params(folder, tmp_path):
    out = run.execute(folder / "07_demo.py", tmp_path / "out", profile="smoke", params={"seed": 5})
    nb = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "profile=smoke seed=5" in printed
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_standard_run_injects_nothing(folder, tmp_path):
    out = run.execute(folder / "07_demo.py", tmp_path / "out")
    nb = nbformat.read(out, as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert "profile=standard seed=0" in json.dumps(nb.cells[1].outputs)


def test_failure_names_notebook_and_cell(folder, tmp_path):
    with pytest.raises(run.NotebookFailed, match=r"07_demo\.py failed in cell .*ValueError: unlucky seed"):
        run.execute(folder / "07_demo.py", tmp_path / "out", params={"seed": 13})


def test_cli_reports_failures_and_keeps_going(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "NOTEBOOKS", folder)
    monkeypatch.setattr(run.find_notebooks, "__defaults__", (None, folder))
    code = cli.main(["run", "--profile", "smoke", "--out", str(tmp_path / "o"), "-p", "seed=13", "--keep-going"])
    out = capsys.readouterr()
    assert code == 1
    assert out.out.count("FAILED") == 2 and "[2/2]" in out.out
    assert "2 notebook(s) failed" in out.err
    assert cli.main(["run", "--profile", "huge", "--out", str(tmp_path / "o")]) == 2


def _executed(path: Path, text: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["nbval-check-output"]}, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [nbformat.v4.new_code_cell("x = 1", execution_count=1), cell]
    nbformat.write(nb, path)
    return path


def test_compare_receipts_finds_a_changed_number(tmp_path: Path, capsys):
    a = _executed(tmp_path / "a.ipynb", "FITB 0.600\n")
    b = _executed(tmp_path / "b.ipynb", "FITB 0.600\n")
    c = _executed(tmp_path / "c.ipynb", "FITB 0.601\n")
    assert run.receipts(a) == [("print(x)", "FITB 0.600\n")]
    assert run.compare_receipts(a, b) == []
    diff = run.compare_receipts(a, c)
    assert "-FITB 0.600" in diff and "+FITB 0.601" in diff
    assert cli.main(["compare", str(a), str(b)]) == 0
    assert cli.main(["compare", str(a), str(c)]) == 1
    assert "receipts differ" in capsys.readouterr().out


def test_kernel_pins_reach_the_environment_unless_native(monkeypatch, capsys):
    for key in run.KERNEL_PINS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FASHIONREC_NATIVE_KERNELS", "1")
    assert run.pin_kernels() == {} and "ATEN_CPU_CAPABILITY" not in __import__("os").environ
    monkeypatch.delenv("FASHIONREC_NATIVE_KERNELS")
    assert run.pin_kernels()["ATEN_CPU_CAPABILITY"] == "avx2"
    import os
    assert all(os.environ[k] == v for k, v in run.KERNEL_PINS.items())
    assert cli.main(["pins"]) == 0
    assert "export ONEDNN_MAX_CPU_ISA=AVX2" in capsys.readouterr().out.splitlines()


def test_parameters_that_are_not_notebook_parameters_become_config_overrides():
    from fashionrec.run import fold_overrides

    names = {"profile", "dataset", "data_root", "device", "seed", "overrides"}
    params = {"dataset": "polyvore", "pretrained": False, "train.epochs": 1, "train.batch_size": 4,
              "overrides": {"image_size": 96}}
    assert fold_overrides(params, names) == {
        "dataset": "polyvore",
        "overrides": {"image_size": 96, "pretrained": False, "train": {"epochs": 1, "batch_size": 4}}}
    assert fold_overrides({"epochs": 3}, {"profile"}) == {"epochs": 3}  # a notebook without overrides


def test_notebook_parameters_are_read_from_the_parameters_cell():
    import jupytext

    from fashionrec.run import NOTEBOOKS, notebook_parameters

    names = notebook_parameters(jupytext.read(NOTEBOOKS / "03_c2s.py"))
    assert {"profile", "dataset", "data_root", "device", "seed"} <= names


def _page(path: Path, seconds: float | None) -> Path:
    nb = nbformat.v4.new_notebook()
    if seconds is not None:
        nb.metadata["papermill"] = {"duration": seconds}
    nbformat.write(nb, path)
    return path


def test_xdist_order_puts_the_longest_first_and_the_shortest_second(tmp_path: Path):
    pages = [_page(tmp_path / f"{k}.ipynb", s) for k, s in enumerate([70, 5, 520, 1040, 250, 300, 550])]
    pages.append(tmp_path / "never-run.ipynb")  # no page yet: 0 s
    order = [int(p.stem) if p.stem.isdigit() else p.stem for p in run.xdist_order(pages, 2)]
    assert order[:2] == [3, 6]  # the two longest start on the two workers
    assert order[2:4] == ["never-run", 1]  # the two shortest wait behind them
    assert order[4:] == [2, 5, 4, 0]  # the rest, longest first
    assert sorted(map(str, order)) == sorted(p.stem for p in pages)  # nothing lost or repeated
    assert run.xdist_order(pages, 1)[0].stem == "3"


def test_with_jobs_every_notebook_runs_and_each_failure_is_reported(folder, tmp_path, monkeypatch, capsys):
    for k in range(3):
        (folder / f"1{k}_more.py").write_text(NOTEBOOK)
    sources = run.find_notebooks(None, folder)
    monkeypatch.setattr(run.find_notebooks, "__defaults__", (None, folder))
    failures = run.run_notebooks(None, tmp_path / "o", "smoke", {"seed": 13}, keep_going=True, jobs=2)
    assert len(failures) == len(sources) == 5
    ok = run.run_notebooks(None, tmp_path / "p", "smoke", {"seed": 1}, jobs=3)
    assert ok == [] and sorted(p.name for p in (tmp_path / "p").glob("*.ipynb")) == [
        f"{p.stem}.ipynb" for p in sources]
    assert capsys.readouterr().out.count("done in") == 5
    (tmp_path / "elsewhere").mkdir()  # a relative --out from another folder than the notebooks': papermill
    monkeypatch.chdir(tmp_path / "elsewhere")  # chdirs into the notebooks' folder while each one runs
    assert run.run_notebooks(None, Path("rel"), "smoke", {"seed": 1}, jobs=3) == []
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb")
                  if "rel" in p.parts) == [f"elsewhere/rel/{p.stem}.ipynb" for p in sources]
    with pytest.raises(SystemExit):
        cli.main(["run", "--jobs", "x"])
    assert cli.main(["run", "--jobs", "0", "--out", str(tmp_path / "q")]) == 2
    monkeypatch.setenv("FASHIONREC_CHECKPOINTS", "1")
    assert cli.main(["paper-path", "--jobs", "0", "--out", str(tmp_path / "r")]) == 2
    assert __import__("os").environ["FASHIONREC_CHECKPOINTS"] == "1"  # refused before it changed anything
