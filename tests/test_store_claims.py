"""The shared core: the artefact store, run folders keyed by code, the config mechanism, the claims rule."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from fashionrec import claims, config, report, store


# ----- store ----------------------------------------------------------------------------------------
def test_key_depends_on_every_part_and_array_bytes():
    a = np.arange(6, dtype=np.float32)
    assert store.key("x", a) == store.key("x", a.copy())
    assert store.key("x", a) != store.key("x", a + 1)
    assert store.key("x", a) != store.key("x", a.reshape(2, 3))  # shape is part of the key
    assert store.key("x", a) != store.key("x", a.astype(np.float64))
    assert store.key({"n": 1}) != store.key({"n": 2})


def test_cached_array_recomputes_a_file_of_the_wrong_shape(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.ones((3, 2), np.float32)

    first = store.cached_array("f", {"data": "d1"}, compute, shape=(3, 2), root=tmp_path)
    again = store.cached_array("f", {"data": "d1"}, compute, shape=(3, 2), root=tmp_path)
    assert len(calls) == 1 and np.array_equal(first, again)
    (path,) = (tmp_path / "f").glob("*.npy")
    np.save(path, np.zeros((5, 2), np.float32))  # a stale or foreign file under the same name
    fixed = store.cached_array("f", {"data": "d1"}, compute, shape=(3, None), root=tmp_path)
    assert len(calls) == 2 and fixed.shape == (3, 2)
    path.write_bytes(b"not an npy file")  # truncated / damaged
    store.cached_array("f", {"data": "d1"}, compute, shape=(3, 2), root=tmp_path)
    assert len(calls) == 3
    store.cached_array("f", {"data": "d2"}, compute, shape=(3, 2), root=tmp_path)  # other data: own file
    assert len(calls) == 4 and len(list((tmp_path / "f").glob("*.npy"))) == 2
    with pytest.raises(ValueError, match="expected"):
        store.cached_array("f", {"data": "d3"}, compute, shape=(4, 2), root=tmp_path)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a.json"
    store.save_json(target, {"v": 1})

    def boom(f):
        f.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        store.atomic_write(target, boom)
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(TypeError, match="object arrays"):
        store.save_array(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))


def test_standardiser_uses_training_rows_only():
    train = np.array([[0.0, 10.0], [2.0, 10.0]])
    std = store.Standardiser.fit(train)
    out = std(np.array([[1.0, 10.0], [3.0, 11.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], [0.0, 2.0], atol=1e-5)
    assert out[1, 1] > 1e5  # constant training column: far out, not NaN
    with pytest.raises(ValueError, match="2 dimensions"):
        std(np.zeros((1, 3)))


def _fake_package(root, loss: str = "return x"):
    pkg = root / "fashionrec"
    (pkg / "demo").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "shared.py").write_text("def helper():\n    return 1\n")
    (pkg / "unused.py").write_text("X = 1\n")
    (pkg / "demo" / "__init__.py").write_text("from .model import loss\n")
    (pkg / "demo" / "model.py").write_text(f"from fashionrec.shared import helper\n\ndef loss(x):\n    {loss}\n")
    (pkg / "demo" / "config.py").write_text("from dataclasses import dataclass\n")
    return pkg


def test_code_digest_follows_imports_and_sees_edits(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path)
    monkeypatch.setattr(store, "PACKAGE", pkg)
    store._dependencies.cache_clear()
    assert set(store._dependencies("fashionrec.demo")) == {
        "fashionrec.demo", "fashionrec.demo.model", "fashionrec.demo.config", "fashionrec.shared"}
    before = store.code_digest("fashionrec.demo")
    (pkg / "unused.py").write_text("X = 2\n")  # not imported by the chapter: same digest
    store._dependencies.cache_clear()
    assert store.code_digest("fashionrec.demo") == before
    (pkg / "shared.py").write_text("def helper():\n    return 2\n")  # an imported module changed
    assert store.code_digest("fashionrec.demo") != before
    store._dependencies.cache_clear()


@dataclass(frozen=True)
class _DemoConfig(config.ChapterConfig):
    chapter: str = "demo"
    lr: float = 0.1


def test_a_code_change_gets_a_new_run_folder_and_metrics_are_fresh(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path / "src")
    monkeypatch.setattr(store, "PACKAGE", pkg)
    store._dependencies.cache_clear()
    runs = tmp_path / "runs"
    cfg = _DemoConfig(profile="smoke")
    first = report.start_run(cfg, root=runs, code="fashionrec.demo")
    report.record("demo_acc", 0.5)
    assert report.load_metrics("demo", "smoke", root=runs) == {"demo_acc": 0.5}
    # unchanged code and config: the same folder (a finished run is reloaded), metrics start empty
    assert report.start_run(cfg, root=runs, code="fashionrec.demo") == first
    assert report.load_metrics("demo", "smoke", root=runs) == {}  # a stale value cannot satisfy a test
    # the loss changed: another folder, so train.fit cannot reload the old checkpoint
    (pkg / "demo" / "model.py").write_text("from fashionrec.shared import helper\n\ndef loss(x):\n    return -x\n")
    store._dependencies.cache_clear()
    second = report.start_run(cfg, root=runs, code="fashionrec.demo")
    assert second != first
    info = json.loads((second / "config.json").read_text())
    assert info["code"] == "fashionrec.demo" and info["code_digest"] == store.code_digest("fashionrec.demo")
    assert report.start_run(cfg, root=runs, code="fashionrec.demo", data="other") != second  # data digest
    store._dependencies.cache_clear()


def test_no_import_cycles_in_the_library():
    graph = store.import_graph()
    assert "fashionrec.train" in graph and "fashionrec.store" in graph
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# ----- config ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PaperConfig(config.ChapterConfig):
    chapter: str = "demo"
    seeds: tuple[int, ...] = (0, 1, 2)
    PRESETS = {"paper": dict(dataset="polyvore", data_root="data/polyvore", seeds=(0,))}
    DATASETS = ("fashionworld", "polyvore")


def test_for_profile_keeps_the_profile_dataset_when_a_notebook_passes_none():
    cfg = _PaperConfig.for_profile("paper", dataset=None, data_root=None, device=None, seed=None)
    assert (cfg.dataset, cfg.data_root, cfg.seeds) == ("polyvore", "data/polyvore", (0,))
    cfg = _PaperConfig.for_profile("paper", dataset="fashionworld", data_root="x")
    assert (cfg.dataset, cfg.data_root) == ("fashionworld", "x")
    assert _PaperConfig.for_profile("standard", seed=5).seeds == (5, 6, 7)
    assert _PaperConfig.for_profile("standard", seed=5, seeds=[1, 2]).seeds == (1, 2)
    with pytest.raises(ValueError, match="no field.*epochz"):
        _PaperConfig.for_profile("standard", epochz=3)
    with pytest.raises(ValueError, match="dataset must be one of fashionworld, polyvore"):
        _PaperConfig.for_profile("standard", dataset="deepfashion")
    with pytest.raises(ValueError, match="seeds must be a non-empty tuple"):
        _PaperConfig(seeds=3)
    with pytest.raises(ValueError, match="smoke, standard, paper"):
        _PaperConfig.for_profile("big")
    assert _PaperConfig().on_world and not _PaperConfig(dataset="polyvore").on_world
    assert [config.world_profile(p) for p in config.PROFILES] == ["smoke", "standard", "standard"]


# ----- claims ---------------------------------------------------------------------------------------
def _results(a, b):
    return pd.DataFrame([{"method": m, "seed": s, "acc": v} for m, vals in (("a", a), ("b", b))
                         for s, v in enumerate(vals)])


def test_claim_rule_holds_reversed_not_resolved():
    held = claims.claim(_results([0.62, 0.63, 0.64], [0.60, 0.60, 0.61]), "a", "b", "acc")
    assert held.verdict == claims.HOLDS and held.low > 0 and held.n == 3
    np.testing.assert_allclose(held.diffs, [0.02, 0.03, 0.03])
    # the interval is the t-interval of the paired differences
    d = np.array(held.diffs)
    half = 4.302652729911275 * d.std(ddof=1) / math.sqrt(3)
    assert held.low == pytest.approx(d.mean() - half) and held.high == pytest.approx(d.mean() + half)
    rev = claims.claim(_results([0.50, 0.51, 0.52], [0.60, 0.60, 0.61]), "a", "b", "acc")
    assert rev.verdict == claims.REVERSED
    mixed = claims.claim(_results([0.61, 0.59, 0.62], [0.60, 0.60, 0.60]), "a", "b", "acc")
    assert mixed.verdict == "not resolved with 3 seeds" and mixed.seeds_to_resolve > 3
    one = claims.claim(_results([0.7], [0.6]), "a", "b", "acc")
    assert one.verdict == "not resolved with 1 seed" and math.isnan(one.low)
    lower = claims.claim(_results([0.1, 0.1, 0.2], [0.5, 0.6, 0.6]), "a", "b", "acc", higher_is_better=False)
    assert lower.holds
    assert "holds" in str(held) and "95% CI" in str(held)
    with pytest.raises(KeyError, match="no results for method='c'"):
        claims.claim(_results([1], [1]), "a", "c", "acc")


def test_seeds_to_resolve_is_the_smallest_n():
    diffs = [0.01, -0.005, 0.02]
    n = claims.seeds_to_resolve(diffs)
    mean, sd = np.mean(diffs), np.std(diffs, ddof=1)
    from scipy import stats
    assert stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) < mean
    assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) >= mean


def test_results_table_and_summary_use_one_ddof():
    res = _results([0.6, 0.7, 0.8], [0.5, 0.55, 0.6])
    table = claims.results_table(res, "acc", chance=0.25, oracle=0.85, labels={"a": "A"}, paper={"a": "0.9"})
    assert list(table.index) == ["chance", "A", "b", "oracle"]
    assert table.loc["A", "acc"] == "0.700 ± 0.100" and table.loc["A", "seeds"] == 3
    assert table.loc["chance", "of the way"] == "0.00" and table.loc["oracle", "of the way"] == "1.00"
    assert table.loc["A", "paper"] == "0.9"
    summary = claims.summarize(res, ["acc"])
    assert summary.loc["a", ("acc", "sd")] == pytest.approx(0.1)
    assert claims.mean_sd([0.6, 0.7, 0.8]) == pytest.approx((0.7, 0.1))
    assert math.isnan(claims.mean_sd([0.5])[1]) and claims.fmt_pm(0.5, math.nan) == "0.500"
    tab = claims.claims_table([claims.claim(res, "a", "b", "acc")], paper=["A > b"])
    assert tab.iloc[0]["verdict"] == "holds" and tab.iloc[0]["paper"] == "A > b"
