"""The minimal gated unit (Zhou et al., 2016): one forget gate, written one step at a time.

f  = sigmoid(W_f x + U_f h + b_f)
n  = tanh(W_n x + U_n (f * h) + b_n)
h' = (1 - f) * h + f * n
"""

import numpy as np

from rnnlab.nn import StepCell


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


class MGUCell(StepCell):
    """Shapes: weight_ih (2H, I), weight_hh (2H, H), bias (2H,); rows [f; n]."""

    def __init__(self, input_size, hidden_size, rng, dtype=np.float32, forget_bias=1.0):
        super().__init__(input_size, hidden_size, rng, dtype)
        k = 1.0 / np.sqrt(hidden_size)
        H = hidden_size
        self.params = {
            "weight_ih": rng.uniform(-k, k, (2 * H, input_size)).astype(dtype),
            "weight_hh": rng.uniform(-k, k, (2 * H, H)).astype(dtype),
            "bias": np.zeros(2 * H, dtype),
        }
        self.params["bias"][:H] = forget_bias
        self.init_grads()

    def step(self, x, state):
        (h,) = state
        H = self.hidden_size
        w_hh = self.params["weight_hh"]
        a = x @ self.params["weight_ih"].T + self.params["bias"]
        f = _sigmoid(a[:, :H] + h @ w_hh[:H].T)
        r = f * h
        n = np.tanh(a[:, H:] + r @ w_hh[H:].T)
        h_new = h + f * (n - h)
        return h_new, (h_new,), (x, h, f, r, n)

    def step_backward(self, dstate, cache):
        (dh_new,) = dstate
        x, h, f, r, n = cache
        H = self.hidden_size
        w_hh, g = self.params["weight_hh"], self.grads
        dan = dh_new * f * (1.0 - n * n)
        df = dh_new * (n - h)
        dh = dh_new * (1.0 - f)
        g["weight_hh"][H:] += dan.T @ r
        dr = dan @ w_hh[H:]
        dh += dr * f
        df += dr * h
        daf = df * f * (1.0 - f)
        g["weight_hh"][:H] += daf.T @ h
        dh += daf @ w_hh[:H]
        da = np.concatenate([daf, dan], axis=1)
        g["weight_ih"] += da.T @ x
        g["bias"] += da.sum(axis=0)
        return da @ self.params["weight_ih"], (dh,)
