"""Optimizers (torch.optim semantics), gradient clipping, norms and the L2 penalty.

Parameters and gradients are dicts name -> ndarray; updates are in place.
Optimizer state is plain arrays (``state_dict``) so it fits an ``.npz`` file.
"""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """The L2 norm of all gradients together."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def grad_norms(grads: dict[str, np.ndarray]) -> dict[str, float]:
    """The L2 norm of each gradient."""
    return {name: float(np.sqrt(np.vdot(g, g))) for name, g in grads.items()}


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients by ``max_norm / (norm + 1e-6)`` when that is below 1, i.e. when
    their global norm exceeds ``max_norm - 1e-6`` (as torch.nn.utils.clip_grad_norm_);
    returns the norm before clipping."""
    norm = global_norm(grads)
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        for g in grads.values():
            g *= g.dtype.type(scale)
    return norm


def clip_grad_value(grads: dict[str, np.ndarray], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``."""
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)


def l2_penalty(
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    coef: float,
    include_biases: bool = False,
) -> float:
    """Add ``coef * W`` to the gradient of each weight matrix; return ``coef/2 * sum ||W||^2``.

    Weight matrices are the parameters with 2 or more dimensions (embeddings
    included); 1-D parameters (biases) count only with ``include_biases``.
    """
    total = 0.0
    for name, w in params.items():
        if w.ndim >= 2 or include_biases:
            total += float(np.vdot(w, w))
            grads[name] += w.dtype.type(coef) * w
    return 0.5 * coef * total


class Optimizer:
    """Base: ``step(grads)`` updates ``params`` in place; state as named arrays."""

    #: per-parameter state buffers, e.g. ("momentum",)
    buffers: tuple[str, ...] = ()

    def __init__(self, params: dict[str, np.ndarray], lr: float):
        self.params, self.lr = params, lr
        self.steps = 0
        self.state = {
            (name, b): np.zeros_like(p) for name, p in params.items() for b in self.buffers
        }

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        for name, p in self.params.items():
            self.update(name, p, grads[name])

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot (copies, not the live buffers): ``<param>/<buffer>`` arrays and ``steps``."""
        out = {f"{name}/{b}": a.copy() for (name, b), a in self.state.items()}
        out["steps"] = np.array(self.steps)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore from ``state_dict()`` output; raises ValueError on a mismatch."""
        expected = self.state_dict()
        if set(state) != set(expected):
            raise ValueError(
                f"optimizer state has keys {sorted(set(state) ^ set(expected))} "
                f"that do not match this optimizer"
            )
        for key, value in expected.items():
            if value.shape != np.shape(state[key]):
                raise ValueError(
                    f"optimizer state {key} has shape {np.shape(state[key])}, "
                    f"expected {value.shape}"
                )
        for (name, b), a in self.state.items():
            a[...] = state[f"{name}/{b}"]
        self.steps = int(state["steps"])


class SGD(Optimizer):
    """SGD with optional (Nesterov) momentum, as torch.optim.SGD without dampening.

    ``nesterov`` acts only with ``momentum`` > 0 (the sgd optimizer's config refuses it
    without, with a line naming the keys)."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.buffers = ("momentum",) if momentum else ()
        super().__init__(params, lr)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if self.momentum:
            buf = self.state[(name, "momentum")]
            buf *= p.dtype.type(self.momentum)
            buf += g
            g = g + p.dtype.type(self.momentum) * buf if self.nesterov else buf
        p -= p.dtype.type(self.lr) * g


class Adagrad(Optimizer):
    """Adagrad as torch.optim.Adagrad: ``p -= lr * g / (sqrt(sum g^2) + eps)``."""

    buffers = ("sum",)

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        eps: float = 1e-10,
        initial_accumulator_value: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.eps = eps
        for acc in self.state.values():
            acc.fill(initial_accumulator_value)

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        acc = self.state[(name, "sum")]
        step = np.multiply(g, g)  # one scratch array for the whole update
        acc += step
        np.sqrt(acc, out=step)
        step += p.dtype.type(self.eps)
        np.divide(g, step, out=step)
        step *= p.dtype.type(self.lr)
        p -= step


class Adam(Optimizer):
    """Adam as torch.optim.Adam (bias-corrected moments, no weight decay)."""

    buffers = ("m", "v")

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        t = p.dtype.type
        m, v = self.state[(name, "m")], self.state[(name, "v")]
        m *= t(self.beta1)
        m += t(1 - self.beta1) * g
        v *= t(self.beta2)
        v += t(1 - self.beta2) * g * g
        step_size = self.lr / (1 - self.beta1**self.steps)
        denom = np.sqrt(v) / t(np.sqrt(1 - self.beta2**self.steps))
        denom += t(self.eps)
        p -= t(step_size) * m / denom


class RMSprop(Optimizer):
    """RMSprop as torch.optim.RMSprop (no weight decay): ``v = alpha v + (1 - alpha) g^2``,
    ``p -= lr * g / (sqrt(v - centered mean(g)^2) + eps)``, with optional momentum on that
    step."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        self.buffers = (
            ("square_avg",)
            + (("grad_avg",) if centered else ())
            + (("momentum",) if momentum else ())
        )
        super().__init__(params, lr)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        t = p.dtype.type
        v = self.state[(name, "square_avg")]
        v *= t(self.alpha)
        v += t(1 - self.alpha) * g * g
        if self.centered:
            mean = self.state[(name, "grad_avg")]
            mean *= t(self.alpha)
            mean += t(1 - self.alpha) * g
            denom = np.sqrt(v - mean * mean)
        else:
            denom = np.sqrt(v)
        denom += t(self.eps)
        if self.momentum:
            buf = self.state[(name, "momentum")]
            buf *= t(self.momentum)
            buf += g / denom
            p -= t(self.lr) * buf
        else:
            p -= t(self.lr) * g / denom
