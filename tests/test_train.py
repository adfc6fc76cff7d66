"""Tests of the shared fit loop: learning, clipping, schedules, early stopping, exact resume."""

import random
from collections import namedtuple
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fashionrec.config import TrainConfig
from fashionrec.train import History, fit, loader_options, move_to

CFG = TrainConfig(epochs=4, batch_size=8, lr=0.05, grad_clip=None)


def regression_data(n: int = 64) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=gen)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.01 * torch.randn(n, generator=gen)
    return TensorDataset(x, y)


def shuffled_loader(seed: int = 0, batch_size: int = 8) -> DataLoader:
    return DataLoader(regression_data(), batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


def mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return F.mse_loss(model(x).squeeze(-1), y)


class CountingLoss:
    """Wraps a loss function, counts its calls, raises KeyboardInterrupt at ``interrupt_at``."""

    def __init__(self, loss_fn, interrupt_at: int | None = None):
        self.loss_fn, self.interrupt_at, self.calls = loss_fn, interrupt_at, 0

    def __call__(self, model, batch):
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return self.loss_fn(model, batch)


def state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class NoisyPairs(torch.utils.data.Dataset):
    """Items that draw from NumPy and Python's random state, as an augmenting dataset would."""

    def __len__(self) -> int:
        return 24

    def __getitem__(self, k: int) -> torch.Tensor:
        return torch.tensor([k, np.random.randint(1000), random.randint(0, 999)])


def batches(workers: int, seed: int) -> list[torch.Tensor]:
    loader = DataLoader(NoisyPairs(), batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(seed),
                        **loader_options(TrainConfig(num_workers=workers)))
    return [b for _ in range(2) for b in loader]  # two epochs: the second draws on from the generator


def test_loader_options_with_workers_give_the_same_order_and_reproducible_draws():
    assert loader_options(TrainConfig()) == dict(num_workers=0, pin_memory=torch.cuda.is_available())
    two, again, other = batches(2, 0), batches(2, 0), batches(2, 1)
    single = batches(0, 0)
    assert [b[:, 0].tolist() for b in two] == [b[:, 0].tolist() for b in single]  # the generator decides
    assert all(torch.equal(a, b) for a, b in zip(two, again))  # the workers' random draws repeat
    assert not all(torch.equal(a, b) for a, b in zip(two, other))
    assert len({b[0, 1].item() for b in two}) > 1  # and are not one constant per worker


def test_loss_decreases_on_linear_regression():
    torch.manual_seed(0)
    history = fit(nn.Linear(4, 1), shuffled_loader(), mse, replace(CFG, epochs=10, lr=0.1))
    frame = history.to_frame()
    assert list(frame.columns) == ["epoch", "train_loss", "valid_metric", "lr", "seconds"]
    assert list(frame["epoch"]) == list(range(1, 11))
    assert frame["train_loss"].iloc[-1] < 0.05 * frame["train_loss"].iloc[0]
    assert history.best_epoch == 10  # no valid_fn: the last epoch counts as best


def test_grad_clip_bounds_the_update_of_plain_sgd():
    # SGD with lr=1 and no momentum moves the parameters by exactly the (clipped) gradient.
    x = torch.ones(8, 4)
    loader = DataLoader(TensorDataset(x), batch_size=8)
    huge_loss = lambda model, batch: 1e6 * model(batch[0]).sum()  # noqa: E731
    for clip, low, high in [(1.0, 0.999, 1.001), (None, 1e6, np.inf)]:
        torch.manual_seed(0)
        model = nn.Linear(4, 1)
        before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
        cfg = replace(CFG, epochs=1, optimizer="sgd", momentum=0.0, lr=1.0, grad_clip=clip)
        fit(model, loader, huge_loss, cfg, progress=False)
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        assert low <= (after - before).norm().item() <= high, clip


def test_step_schedule_halves_lr_every_two_epochs():
    cfg = replace(CFG, epochs=6, lr=0.1, schedule="step", step_epochs=2, step_gamma=0.5)
    history = fit(nn.Linear(4, 1), shuffled_loader(), mse, cfg, progress=False)
    lrs = history.to_frame()["lr"].to_numpy()
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_cosine_schedule_decays_from_lr_and_bad_names_raise():
    cfg = replace(CFG, epochs=5, lr=0.1, schedule="cosine")
    lrs = fit(nn.Linear(4, 1), shuffled_loader(), mse, cfg, progress=False).to_frame()["lr"]
    assert lrs.iloc[0] == pytest.approx(0.1)
    assert (np.diff(lrs) < 0).all() and lrs.iloc[-1] < 0.015
    with pytest.raises(ValueError, match="schedule"):
        fit(nn.Linear(4, 1), shuffled_loader(), mse, replace(CFG, schedule="linear"))
    with pytest.raises(ValueError, match="optimizer"):
        fit(nn.Linear(4, 1), shuffled_loader(), mse, replace(CFG, optimizer="lbfgs"))


def test_early_stopping_stops_after_patience_and_restores_best(tmp_path):
    metrics, snapshots = [0.1, 0.5, 0.4, 0.3, 0.9, 1.0], []

    def valid_fn(model):
        assert not model.training and not torch.is_grad_enabled()
        snapshots.append(state(model))
        return metrics[len(snapshots) - 1]

    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    cfg = replace(CFG, epochs=6, patience=2)
    history = fit(model, shuffled_loader(), mse, cfg, valid_fn=valid_fn, run_dir=tmp_path,
                  progress=False)
    assert len(history.rows) == 4  # epochs 3 and 4 did not beat epoch 2
    assert history.best_epoch == 2
    assert same_weights(state(model), snapshots[1])
    assert not same_weights(snapshots[1], snapshots[3])  # training did move the weights
    assert same_weights(torch.load(tmp_path / "best.pt", weights_only=True), snapshots[1])


@pytest.mark.parametrize("how", ["params", "requires_grad"])
def test_only_the_given_params_change(how):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    before = state(model)
    if how == "params":
        fit(model, shuffled_loader(), mse, CFG, params=model[2].parameters(), progress=False)
    else:
        model[0].requires_grad_(False)
        fit(model, shuffled_loader(), mse, CFG, progress=False)
    after = state(model)
    assert torch.equal(after["0.weight"], before["0.weight"])
    assert torch.equal(after["0.bias"], before["0.bias"])
    assert not torch.equal(after["2.weight"], before["2.weight"])


def test_amp_is_never_used_on_cpu():
    def loss_fn(model, batch):
        assert not torch.is_autocast_enabled("cpu")
        return mse(model, batch)

    fit(nn.Linear(4, 1), shuffled_loader(), loss_fn, replace(CFG, amp=True, epochs=1),
        progress=False)


def test_move_to_handles_nested_batches():
    Pair = namedtuple("Pair", "images labels")
    batch = {"pair": Pair(torch.ones(2), [torch.zeros(1), 3]), "name": "x"}
    moved = move_to(batch, "cpu")
    assert isinstance(moved["pair"], Pair) and moved["name"] == "x"
    assert torch.equal(moved["pair"].labels[0], torch.zeros(1)) and moved["pair"].labels[1] == 3


# --- checkpoints and exact resume ------------------------------------------------------------


class DropoutRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))

    def forward(self, x):
        return self.layers(x)


RESUME_CFG = replace(CFG, lr=0.01, schedule="step", step_epochs=2, grad_clip=1.0)


def noisy_mse(model, batch):
    """MSE times a factor drawn from NumPy and Python, so their RNG states matter too."""
    return mse(model, batch) * (1 + 0.1 * np.random.rand() + 0.1 * random.random())


def valid_fn(model):
    x, y = regression_data().tensors
    return -F.mse_loss(model(x).squeeze(-1), y).item()


def fresh_start(seed: int = 0):
    """What a new Python process would do: seed everything, build the model and the loader."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return DropoutRegressor(), shuffled_loader(seed)


def comparable(history: History) -> pd.DataFrame:
    return history.to_frame().drop(columns="seconds")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    model, loader = fresh_start()
    history = fit(model, loader, noisy_mse, RESUME_CFG, valid_fn=valid_fn, run_dir=run_dir,
                  progress=False)
    last = torch.load(run_dir / "last.pt", weights_only=True)
    return dict(history=history, best=state(model), last=last["model"], run_dir=run_dir)


def assert_same_run(model, history, run_dir, reference):
    pd.testing.assert_frame_equal(comparable(history), comparable(reference["history"]))
    assert same_weights(state(model), reference["best"])
    assert same_weights(torch.load(run_dir / "last.pt", weights_only=True)["model"],
                        reference["last"])


def test_resume_after_two_epochs_is_bit_identical(tmp_path, uninterrupted):
    model, loader = fresh_start()
    fit(model, loader, noisy_mse, replace(RESUME_CFG, epochs=2), valid_fn=valid_fn,
        run_dir=tmp_path, progress=False)
    model, loader, loss_fn = *fresh_start(), CountingLoss(noisy_mse)
    history = fit(model, loader, loss_fn, RESUME_CFG, valid_fn=valid_fn, run_dir=tmp_path,
                  progress=False)
    assert loss_fn.calls == 2 * 8  # only epochs 3 and 4 were trained (8 batches each)
    assert_same_run(model, history, tmp_path, uninterrupted)
    # The reference really depends on what the checkpoint restores: a fresh 4-epoch run from
    # the post-epoch-2 weights alone (new RNG, optimiser and loader states) differs.
    model, loader = fresh_start()
    model.load_state_dict(torch.load(tmp_path / "last.pt", weights_only=True)["model"])
    fit(model, loader, noisy_mse, replace(RESUME_CFG, epochs=2), progress=False)
    assert not same_weights(state(model), uninterrupted["last"])


def test_keyboard_interrupt_keeps_last_finished_epoch_and_resumes_exactly(tmp_path,
                                                                         uninterrupted):
    interrupted_loss = CountingLoss(noisy_mse, interrupt_at=2 * 8 + 3)  # 3rd batch of epoch 3
    model, loader = fresh_start()
    with pytest.raises(KeyboardInterrupt):
        fit(model, loader, interrupted_loss, RESUME_CFG, valid_fn=valid_fn, run_dir=tmp_path,
            progress=False)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 2
    assert len(pd.read_csv(tmp_path / "history.csv")) == 2
    model, loader, loss_fn = *fresh_start(), CountingLoss(noisy_mse)
    history = fit(model, loader, loss_fn, RESUME_CFG, valid_fn=valid_fn, run_dir=tmp_path,
                  progress=False)
    assert loss_fn.calls == 2 * 8
    assert_same_run(model, history, tmp_path, uninterrupted)


def test_checkpoint_files_load_with_weights_only(uninterrupted):
    run_dir = uninterrupted["run_dir"]
    last = torch.load(run_dir / "last.pt", weights_only=True)
    for key in ["model", "optimizer", "scheduler", "scaler", "epoch", "history", "best_metric",
                "best_state", "rng"]:
        assert key in last, key
    assert last["epoch"] == 4 and len(last["history"]) == 4
    assert set(last["rng"]) == {"torch", "cuda", "numpy", "python", "loader"}
    model = DropoutRegressor()
    model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True))
    assert same_weights(state(model), uninterrupted["best"])
    csv = pd.read_csv(run_dir / "history.csv")
    pd.testing.assert_frame_equal(csv.drop(columns="seconds"),
                                  comparable(uninterrupted["history"]), check_exact=False)


def test_rerunning_a_finished_run_trains_nothing(uninterrupted):
    model, loader, loss_fn = *fresh_start(seed=1), CountingLoss(noisy_mse)  # other init
    history = fit(model, loader, loss_fn, RESUME_CFG, valid_fn=valid_fn,
                  run_dir=uninterrupted["run_dir"], progress=False)
    assert loss_fn.calls == 0
    assert same_weights(state(model), uninterrupted["best"])
    pd.testing.assert_frame_equal(history.to_frame(), uninterrupted["history"].to_frame())


def test_resume_false_trains_again(tmp_path):
    cfg, loss_fn = replace(CFG, epochs=1), CountingLoss(mse)
    fit(nn.Linear(4, 1), shuffled_loader(), loss_fn, cfg, run_dir=tmp_path, progress=False)
    fit(nn.Linear(4, 1), shuffled_loader(), loss_fn, cfg, run_dir=tmp_path, resume=False,
        progress=False)
    assert loss_fn.calls == 2 * 8


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fit_with_amp_on_cuda(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    cfg = replace(CFG, epochs=10, lr=0.1, amp=True, grad_clip=1.0)
    history = fit(model, shuffled_loader(), mse, cfg, device="cuda", run_dir=tmp_path,
                  progress=False)
    losses = history.to_frame()["train_loss"]
    assert next(model.parameters()).is_cuda
    assert losses.iloc[-1] < 0.1 * losses.iloc[0]
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["scaler"] and last["rng"]["cuda"]
