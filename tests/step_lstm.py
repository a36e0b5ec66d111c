"""A step-level LSTM written the way a plugin author writes a cell: ``rnnlab.nn.StepCell``.

Plain textbook equations, one step at a time, same parameters and gate order
as ``torch.nn.LSTM``. Tests use it to show that StepCell turns ``step`` and
``step_backward`` into a correct sequence cell.
"""

import numpy as np

from rnnlab.nn import StepCell


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class StepLSTM(StepCell):
    num_states = 2

    def __init__(self, input_size, hidden_size, rng, dtype=np.float32):
        super().__init__(input_size, hidden_size, rng, dtype)
        bound, rows = 1.0 / np.sqrt(hidden_size), 4 * hidden_size
        shapes = {
            "weight_ih": (rows, input_size),
            "weight_hh": (rows, hidden_size),
            "bias_ih": (rows,),
            "bias_hh": (rows,),
        }
        self.params = {
            name: rng.uniform(-bound, bound, shape).astype(dtype) for name, shape in shapes.items()
        }
        self.init_grads()

    def step(self, x, state):
        h, c = state
        p = self.params
        a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        i, f, g, o = np.split(a, 4, axis=1)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        h_new = o * tanh_c
        return h_new, (h_new, c_new), (x, h, c, i, f, g, o, tanh_c)

    def step_backward(self, dstate, cache):
        dh, dc = dstate
        x, h, c, i, f, g, o, tanh_c = cache
        dc = dc + dh * o * (1 - tanh_c**2)
        da = np.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c * f * (1 - f),
                dc * i * (1 - g**2),
                dh * tanh_c * o * (1 - o),
            ],
            axis=1,
        )
        p, grads = self.params, self.grads
        grads["weight_ih"] += da.T @ x
        grads["weight_hh"] += da.T @ h
        grads["bias_ih"] += da.sum(axis=0)
        grads["bias_hh"] += da.sum(axis=0)
        return da @ p["weight_ih"], (da @ p["weight_hh"], dc * f)
