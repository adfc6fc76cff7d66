"""Profiles, device selection, seeding, run folders and recorded results."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fashionrec import config, report


def test_profiles_and_run_config():
    assert config.PROFILES == ("smoke", "standard", "paper")
    with pytest.raises(ValueError, match="smoke, standard, paper"):
        config.ChapterConfig(chapter="x", profile="big")
    assert config.ChapterConfig(chapter="x").dataset == "fashionworld"


def test_select_device():
    assert config.select_device("cpu").type == "cpu"
    assert config.select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            config.select_device("cuda")


def test_seed_everything_repeats_all_generators():
    def draw():
        import random
        return random.random(), np.random.rand(), torch.rand(1).item()
    config.seed_everything(7)
    a = draw()
    g = config.seed_everything(7)
    assert draw() == a
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.randint(0, 10**6, (1,), generator=g).item() == torch.randint(
        0, 10**6, (1,), generator=torch.Generator().manual_seed(7)).item()


def test_run_folder_config_and_metrics(tmp_path):
    cfg = config.ChapterConfig(chapter="demo", profile="smoke", seed=3)
    path = report.start_run(cfg, device="cpu", root=tmp_path)
    assert path.parent == tmp_path / "demo" / "smoke"
    info = json.loads((path / "config.json").read_text())
    assert info["config"]["seed"] == 3 and info["seed"] == 3 and info["device"] == "cpu"
    assert info["packages"]["torch"].startswith("2.14.1") and "git_commit" in info
    report.record("demo_acc", np.float64(0.75))
    report.record("demo_n", 12)
    assert report.load_metrics("demo", "smoke", root=tmp_path) == {"demo_acc": 0.75, "demo_n": 12}
    # another config -> another folder; the same config -> the same folder
    assert report.start_run(config.ChapterConfig(chapter="demo", profile="smoke", seed=4), root=tmp_path) != path
    assert report.start_run(cfg, root=tmp_path) == path
    with pytest.raises(FileNotFoundError, match="no run of 'other'"):
        report.load_metrics("other", "smoke", root=tmp_path)


def test_chapters_have_distinct_keys():
    keys = [c.key for c in config.CHAPTERS]
    assert len(set(keys)) == 5 and [c.number for c in config.CHAPTERS] == [1, 2, 3, 4, 5]


def test_the_reproducibility_box_names_the_machine_and_times_each_stage(tmp_path, monkeypatch):
    from fashionrec import report

    monkeypatch.setenv("FASHIONREC_RUNS", str(tmp_path))
    monkeypatch.setattr(report, "_T0", 100.0)
    monkeypatch.setattr(report, "_clock", {"setup": 110.0, "stages": []})
    report.add_time("siamese seed 0", 5.0)
    report.add_time("siamese seed 1", 7.0)
    report.add_time("A-stage1", 3.0)
    rows = report.stage_times(now=130.0)
    assert rows == [("data and setup", 10.0, 1), ("training: siamese seed #", 12.0, 2),
                    ("training: A-stage#", 3.0, 1), ("features, evaluation, figures and the rest", 5.0, 1)]
    box = report.reproducibility_box()
    hw = report.hardware()
    assert hw["cpu"] in box.text and str(hw["torch_cpu_capability"]) in box.markdown
    assert "training: siamese seed # (×2)" in box.markdown and "torch" in box.text


def test_glance_keeps_one_line_per_claim_with_its_verdict_and_the_papers_word():
    import pandas as pd

    from fashionrec import claims, report

    frame = pd.DataFrame([dict(method=m, seed=s, score=v + 0.01 * s) for s in range(3)
                          for m, v in (("a", 0.6), ("b", 0.5))])
    tested = [claims.claim(frame, "a", "b", "score", text="a beats b"),
              claims.claim(frame, "b", "a", "score", text="b beats a")]
    table = report.glance("ch9", claims.claims_table(tested, paper=["yes", "no"]))
    assert list(table.index) == ["a beats b", "b beats a"]
    assert list(table.columns) == ["metric", "ours (paired difference)", "verdict", "the paper"]
    assert table["verdict"].tolist() == [tested[0].verdict, tested[1].verdict]
    assert table.loc["a beats b", "the paper"] == "yes" and table.loc["a beats b", "ours (paired difference)"] == "+0.100"
