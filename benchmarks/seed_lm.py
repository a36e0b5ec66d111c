"""The floor: a straightforward NumPy char-LM in the style of min-char-rnn, batched over N streams.

Float64; one-hot inputs; per step the concatenation ``z = [h, x]`` and one GEMM
with the stacked weights; the output layer, softmax and loss per step; in the
backward sweep a weight-gradient GEMM per step. Same clipping and Adagrad as the
engine. The GRU is the Cho et al. form that such code usually has (the reset gate
scales ``h`` before the recurrent product), with the same number of GEMM flops.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from benchmarks.workload import CLIP_NORM, LR, Chunks, Shape


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


class SeedLM:
    """``step()`` trains on the next chunk; subclasses give the cell's step and its backward."""

    #: name -> rows of the stacked weight over ``[h, x]`` (in units of H)
    gates: ClassVar[dict[str, int]]
    num_states = 1

    def __init__(self, shape: Shape):
        rng = np.random.default_rng(0)
        H, V = shape.hidden, shape.vocab
        self.shape = shape
        self.params = {}
        for name, rows in self.gates.items():
            self.params[f"W{name}"] = rng.standard_normal((rows * H, H + V)) * 0.01
            self.params[f"b{name}"] = np.zeros(rows * H)
        self.params["Wy"] = rng.standard_normal((V, H)) * 0.01
        self.params["by"] = np.zeros(V)
        self.memory = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.chunks = Chunks(shape)
        self.state = self.zero_state()

    def zero_state(self):
        N, H = self.shape.batch, self.shape.hidden
        return tuple(np.zeros((N, H)) for _ in range(self.num_states))

    def cell_forward(self, state, x):
        """One step from ``state`` with one-hot ``x`` (N, V): ``(new_state, cache)``."""
        raise NotImplementedError

    def cell_backward(self, dstate, cache, grads):
        """Gradient for the previous state from ``dstate``; adds weight gradients to ``grads``."""
        raise NotImplementedError

    def step(self) -> float:
        inputs, targets, restart = self.chunks.next()
        if restart:
            self.state = self.zero_state()
        p, (T, N), V = self.params, inputs.shape, self.shape.vocab
        rows = np.arange(N)
        state, caches, probs, hs, loss = self.state, [], [], [], 0.0
        for t in range(T):
            x = np.zeros((N, V))
            x[rows, inputs[t]] = 1
            state, cache = self.cell_forward(state, x)
            y = state[0] @ p["Wy"].T + p["by"]
            e = np.exp(y - y.max(axis=1, keepdims=True))
            e /= e.sum(axis=1, keepdims=True)
            loss -= np.log(e[rows, targets[t]]).sum()
            caches.append(cache)
            probs.append(e)
            hs.append(state[0])
        self.state = state
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dstate = self.zero_state()
        for t in reversed(range(T)):
            dy = probs[t]
            dy[rows, targets[t]] -= 1
            dy /= T * N
            grads["Wy"] += dy.T @ hs[t]
            grads["by"] += dy.sum(axis=0)
            dstate = (dstate[0] + dy @ p["Wy"], *dstate[1:])
            dstate = self.cell_backward(dstate, caches[t], grads)
        norm = np.sqrt(sum((g * g).sum() for g in grads.values()))
        scale = min(1.0, CLIP_NORM / (norm + 1e-6))
        for k, g in grads.items():
            g *= scale
            self.memory[k] += g * g
            p[k] -= LR * g / (np.sqrt(self.memory[k]) + 1e-10)
        return loss / (T * N)


class SeedRNN(SeedLM):
    gates: ClassVar[dict[str, int]] = {"": 1}

    def cell_forward(self, state, x):
        z = np.concatenate([state[0], x], axis=1)
        h = np.tanh(z @ self.params["W"].T + self.params["b"])
        return (h,), (z, h)

    def cell_backward(self, dstate, cache, grads):
        z, h = cache
        da = dstate[0] * (1 - h * h)
        grads["W"] += da.T @ z
        grads["b"] += da.sum(axis=0)
        return ((da @ self.params["W"])[:, : self.shape.hidden],)


class SeedLSTM(SeedLM):
    gates: ClassVar[dict[str, int]] = {"": 4}
    num_states = 2

    def cell_forward(self, state, x):
        H = self.shape.hidden
        h, c = state
        z = np.concatenate([h, x], axis=1)
        a = z @ self.params["W"].T + self.params["b"]
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
        g = np.tanh(a[:, 2 * H : 3 * H])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        return (o * tc, c_new), (z, c, i, f, g, o, tc)

    def cell_backward(self, dstate, cache, grads):
        H = self.shape.hidden
        dh, dc = dstate
        z, c, i, f, g, o, tc = cache
        do = dh * tc
        dc = dc + dh * o * (1 - tc**2)
        da = np.concatenate(
            [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g**2), do * o * (1 - o)],
            axis=1,
        )
        grads["W"] += da.T @ z
        grads["b"] += da.sum(axis=0)
        return (da @ self.params["W"])[:, :H], dc * f


class SeedGRU(SeedLM):
    gates: ClassVar[dict[str, int]] = {"rz": 2, "n": 1}

    def cell_forward(self, state, x):
        H, p = self.shape.hidden, self.params
        (h,) = state
        z1 = np.concatenate([h, x], axis=1)
        rz = sigmoid(z1 @ p["Wrz"].T + p["brz"])
        r, u = rz[:, :H], rz[:, H:]
        z2 = np.concatenate([r * h, x], axis=1)
        n = np.tanh(z2 @ p["Wn"].T + p["bn"])
        return ((1 - u) * n + u * h,), (h, z1, z2, r, u, n)

    def cell_backward(self, dstate, cache, grads):
        H, p = self.shape.hidden, self.params
        (dh,) = dstate
        h, z1, z2, r, u, n = cache
        dan = dh * (1 - u) * (1 - n * n)
        grads["Wn"] += dan.T @ z2
        grads["bn"] += dan.sum(axis=0)
        drh = (dan @ p["Wn"])[:, :H]
        darz = np.concatenate([drh * h * r * (1 - r), dh * (h - n) * u * (1 - u)], axis=1)
        grads["Wrz"] += darz.T @ z1
        grads["brz"] += darz.sum(axis=0)
        return (dh * u + drh * r + (darz @ p["Wrz"])[:, :H],)


SEED_CLASSES = {"rnn": SeedRNN, "lstm": SeedLSTM, "gru": SeedGRU}
