#!/usr/bin/env python3
"""LSTM char-LM training step: rnnlab engine vs a seed-style NumPy LSTM (float64, one-hot,
per-step concatenation, per-step weight-gradient GEMMs). N=32, T=64, H=256, V=96."""
import time
import numpy as np
from threadpoolctl import threadpool_limits
from rnnlab.nn import RecurrentModel, LSTMCell, softmax_cross_entropy, clip_grad_norm, Adagrad

V, N, T, H = 96, 32, 64, 256
rng = np.random.default_rng(0)
ids = rng.integers(0, V, (T + 1, N))

def sig(x): return 1 / (1 + np.exp(-x))

class Seed:
    def __init__(s):
        s.W = rng.standard_normal((4 * H, H + V)) * 0.01; s.b = np.zeros(4 * H)
        s.Wy = rng.standard_normal((V, H)) * 0.01; s.by = np.zeros(V)
        s.mem = [np.zeros_like(p) for p in (s.W, s.b, s.Wy, s.by)]
    def step(s, h, c):
        xs, hs, cs, gs, zs = {}, {-1: h}, {-1: c}, {}, {}
        loss = 0
        for t in range(T):
            x = np.zeros((N, V)); x[np.arange(N), ids[t]] = 1
            z = np.concatenate([hs[t - 1], x], axis=1); zs[t] = z
            a = z @ s.W.T + s.b
            i, f, g, o = sig(a[:, :H]), sig(a[:, H:2*H]), np.tanh(a[:, 2*H:3*H]), sig(a[:, 3*H:])
            cs[t] = f * cs[t - 1] + i * g; hs[t] = o * np.tanh(cs[t]); gs[t] = (i, f, g, o)
        dW, db, dWy, dby = (np.zeros_like(p) for p in (s.W, s.b, s.Wy, s.by))
        dh, dc = np.zeros((N, H)), np.zeros((N, H))
        for t in reversed(range(T)):
            y = hs[t] @ s.Wy.T + s.by
            p = np.exp(y - y.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
            loss -= np.log(p[np.arange(N), ids[t + 1]]).sum()
            p[np.arange(N), ids[t + 1]] -= 1
            dWy += p.T @ hs[t]; dby += p.sum(0); dh = dh + p @ s.Wy
            i, f, g, o = gs[t]; tc = np.tanh(cs[t])
            do = dh * tc; dc = dc + dh * o * (1 - tc ** 2)
            di, df, dg = dc * g, dc * cs[t - 1], dc * i
            da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], 1)
            dW += da.T @ zs[t]; db += da.sum(0)
            dz = da @ s.W; dh = dz[:, :H]; dc = dc * f
        grads = [dW, db, dWy, dby]
        norm = np.sqrt(sum((g * g).sum() for g in grads))
        if norm > 5: grads = [g * 5 / norm for g in grads]
        for p, g, m in zip((s.W, s.b, s.Wy, s.by), grads, s.mem):
            m += g * g; p -= 0.1 * g / np.sqrt(m + 1e-8)
        return hs[T - 1], cs[T - 1]

model = RecurrentModel(LSTMCell, hidden_size=H, output_size=V, vocab_size=V, embed_size=V, rng=rng)
opt = Adagrad(model.params, lr=0.1)
def engine_step(state):
    model.zero_grad()
    out, state = model.forward(ids[:T], state)
    _, d = softmax_cross_entropy(out.reshape(-1, V), ids[1:].reshape(-1))
    model.backward(d.reshape(out.shape)); clip_grad_norm(model.grads, 5.0); opt.step(model.grads)
    return state

def bench(fn, state, reps=7):
    state = fn(state); times = []
    for _ in range(reps):
        t = time.perf_counter(); state = fn(state); times.append(time.perf_counter() - t)
    return float(np.median(times))

seed = Seed()
with threadpool_limits(1):
    te = bench(engine_step, model.initial_state(N))
    ts = bench(lambda st: seed.step(*st), (np.zeros((N, H)), np.zeros((N, H))), reps=5)
print(f"LSTM N={N} T={T} H={H}: engine {T*N/te:,.0f} chars/s ({te*1e3:.1f} ms/step)  seed-style {T*N/ts:,.0f} chars/s "
      f"({ts*1e3:.1f} ms/step)  ratio {ts/te:.2f}x")
