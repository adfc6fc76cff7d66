"""Bad input to the command line (issue 20): a mistyped ``-p`` name, an ill-typed value or an unusable
``--out`` is refused in one line naming it (exit 2) before any notebook runs, never a traceback and
never a run that silently ignores the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from fashionrec import run
from fashionrec.cli import main


def refused(argv: list[str], capsys) -> str:
    """Run the CLI, assert it refused with exit 2 in one line, return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch):
    """A refused command must not reach papermill."""
    monkeypatch.setattr(run, "execute", lambda *a, **k: pytest.fail("a notebook ran despite bad input"))


@pytest.mark.parametrize("param, expected", [
    ("sed=3", "-p sed: not a parameter of 01_bilstm (did you mean 'seed'?); valid names: "),
    ("seed=abc", "-p seed='abc': seed of 01_bilstm must be int; got 'abc' (str)"),
    ("seed=1.5", "seed of 01_bilstm must be int; got 1.5 (float)"),
    ("train.epochs=many", "train.epochs of 01_bilstm must be int; got 'many' (str)"),
    ("train={epoch: 3}", "-p train={'epoch': 3}: train of 01_bilstm must be TrainConfig"),
    ("seed", "parameter 'seed' is not of the form key=value"),
    ("seed=[1", "-p seed=[1: the value is not a YAML scalar, list or mapping"),
])
def test_a_bad_parameter_is_one_line_naming_it(param, expected, tmp_path, capsys):
    err = refused(["run", "01", "--profile", "smoke", "--out", str(tmp_path), "-p", param], capsys)
    assert expected in err


def test_a_name_no_chosen_notebook_knows_lists_the_valid_ones(tmp_path, capsys):
    err = refused(["run", "01", "03", "--out", str(tmp_path), "-p", "backbne=vgg16"], capsys)
    assert "not a parameter of any of 2 notebooks (did you mean 'backbone'?)" in err and "seed" in err


def test_a_valid_parameter_is_coerced_and_passed_on(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(run, "execute", lambda source, out, profile, params, *a: seen.update(params) or out)
    assert main(["run", "01", "--profile", "smoke", "--out", str(tmp_path), "-p", "seed=2",
                 "-p", "train.epochs=3"]) == 0
    assert seen == {"seed": 2, "train.epochs": 3}


@pytest.mark.parametrize("command", ["run", "paper-path"])
def test_an_unusable_out_is_one_line_naming_it(command, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    err = refused([command, "01", "--out", str(a_file)], capsys)
    assert f"--out {a_file}: is a file, not a folder" in err
    err = refused([command, "01", "--out", "/proc/fashionrec-out"], capsys)  # cannot be made, even by root
    assert "--out /proc/fashionrec-out: not a writable folder" in err


def test_an_unknown_profile_or_notebook_is_one_line(tmp_path, capsys):
    assert "unknown profile 'fast'" in refused(["run", "01", "--profile", "fast", "--out", str(tmp_path)], capsys)
    assert "99" in refused(["run", "99", "--out", str(tmp_path)], capsys)
