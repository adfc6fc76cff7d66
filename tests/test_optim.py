"""fashionrec.optim.Adam: torch's Adam update, with a correctly rounded square root on a CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fashionrec.optim import Adam, exact_sqrt


def _train(opt_cls, dtype, steps=5, **kw):
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(50, 40, dtype=dtype))
    x = torch.randn(64, 50, dtype=dtype)
    opt = opt_cls([w], lr=1e-2, **kw)
    for _ in range(steps):
        opt.zero_grad()
        (x @ w).tanh().pow(2).mean().backward()
        opt.step()
    return w.detach(), opt


@pytest.mark.parametrize("decoupled", [False, True])
def test_float64_steps_are_torchs_adam_bit_for_bit(decoupled):
    """In float64 the root is torch's own, so every step must equal torch.optim.Adam / AdamW exactly."""
    reference_cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ours, opt = _train(Adam, torch.float64, weight_decay=0.1, decoupled=decoupled)
    theirs, ref = _train(reference_cls, torch.float64, weight_decay=0.1, foreach=False)
    assert torch.equal(ours, theirs)
    assert set(opt.state[next(iter(opt.state))]) == set(ref.state[next(iter(ref.state))])


def test_float32_steps_stay_within_rounding_of_torchs_adam():
    ours, _ = _train(Adam, torch.float32)
    theirs, _ = _train(torch.optim.Adam, torch.float32, foreach=False)
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_exact_sqrt_is_correctly_rounded():
    x = torch.rand(100_003) * 10 + 1e-6
    reference = torch.from_numpy(np.sqrt(x.numpy().astype(np.float64)).astype(np.float32))
    assert torch.equal(exact_sqrt(x), reference)
    assert exact_sqrt(x).dtype == torch.float32
