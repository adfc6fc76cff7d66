"""Adam with a correctly rounded square root: the same update on every CPU.

Kingma & Ba (2015), Algorithm 1, as ``torch.optim.Adam`` computes it (bias-corrected, the
denominator ``sqrt(v_t) / sqrt(1 - beta2^t) + eps``), with one difference: on a CPU the square root
of ``v_t`` is taken in float64 and rounded to float32. torch's float32 ``sqrt`` on a CPU is not
correctly rounded (about one element in six is one unit in the last place off), and *which*
elements are off depends on the CPU's math kernels, so the same run drifted apart on two machines
(``benchmarks/cross_isa.py``). The float64 root rounded to float32 is the correctly rounded one,
which every CPU computes alike. On CUDA, whose ``sqrt`` is correctly rounded, nothing changes.
``decoupled=True`` is AdamW (Loshchilov & Hutter 2019): weight decay applied to the weights.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def exact_sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded ``sqrt(x)`` on a CPU (through float64), torch's own on other devices."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return x.double().sqrt_().to(x.dtype)
    return x.sqrt()


class Adam(torch.optim.Adam):
    """``torch.optim.Adam`` (and AdamW with ``decoupled=True``) whose step uses ``exact_sqrt``.

    Same hyper-parameters and state (``step``, ``exp_avg``, ``exp_avg_sq``) as torch's, so its
    checkpoints load into either. AMSGrad, ``maximize`` and complex weights are not supported.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
        for group in self.param_groups:
            group["decoupled"] = decoupled

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                state = self.state[param]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["step"] += 1
                step = state["step"].item()
                if decay and group.get("decoupled"):
                    param.mul_(1 - lr * decay)
                elif decay:
                    grad = grad.add(param, alpha=decay)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)  # m_t
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v_t
                step_size = lr / (1 - beta1 ** step)
                denom = (exact_sqrt(exp_avg_sq) / (1 - beta2 ** step) ** 0.5).add_(eps)
                param.addcdiv_(exp_avg, denom, value=-step_size)
        return loss
