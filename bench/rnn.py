"""Backpropagation through time against hand-written numpy, measured in the same run.

A recurrent network with a 32-unit state over sequences of 50 steps (m = 256 sequences, one
target per sequence): the time per epoch of `cgcalc train`'s compiled tape (the gradients
derived on the unrolled graph) beside a textbook numpy BPTT loop, from the same start, with the
same data; both end with the same params (checked).

    python3 bench/rnn.py [--epochs 30] [--steps 50] [--units 32] [--rows 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

NET = """steps {T}
input  x[t, 1]
target y[1]
param  Wx[1, {K}] ~ uniform(-0.5, 0.5)
param  Wh[{K}, {K}] ~ uniform(-0.2, 0.2)
param  b[1, {K}]  ~ uniform(0, 0)
param  V[{K1}, 1] ~ uniform(-0.5, 0.5)
h[0] = zeros({K})
h[t] = tanh(x[t] @ Wx + h[t-1] @ Wh + b)
P = sigmoid([h[T], 1] @ V)
C = cross_entropy(P, y)
minimize C
data "rows.csv"
"""


def by_hand(X, Y, p, epochs, rate):
    """Textbook BPTT: forward through the steps keeping the states, then back."""
    Wx, Wh, b, V = (p[k].copy() for k in ("Wx", "Wh", "b", "V"))
    m, T = X.shape
    k = Wh.shape[0]
    ones = np.ones((m, 1))
    for _ in range(epochs):
        hs = [np.zeros((m, k))]
        for t in range(T):
            hs.append(np.tanh(X[:, t:t + 1] @ Wx + hs[-1] @ Wh + b))
        H1 = np.hstack([hs[-1], ones])
        P = 1 / (1 + np.exp(-(H1 @ V)))
        dz = (P - Y) / m
        gV = H1.T @ dz
        dh = (dz @ V.T)[:, :k]
        gWx, gWh, gb = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        for t in range(T, 0, -1):
            da = dh * (1 - hs[t] ** 2)
            gWx += X[:, t - 1:t].T @ da
            gWh += hs[t - 1].T @ da
            gb += da.sum(axis=0, keepdims=True)
            dh = da @ Wh.T
        Wx -= rate * gWx
        Wh -= rate * gWh
        b -= rate * gb
        V -= rate * gV
    return {"Wx": Wx, "Wh": Wh, "b": b, "V": V}


def main():
    import os
    import tempfile

    from cgcalc.net import Network
    from cgcalc.net.data import file_data
    from cgcalc.net.params import initial_params
    from cgcalc.net.train import train

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--rows", type=int, default=256)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (a.rows, a.steps)).astype(float)
    Y = X[:, :1].copy()  # remember the first bit
    with tempfile.TemporaryDirectory() as tmp:
        np.savetxt(os.path.join(tmp, "rows.csv"), np.hstack([X, Y]), delimiter=",", fmt="%g")
        path = os.path.join(tmp, "rnn.net")
        text = NET.format(T=a.steps, K=a.units, K1=a.units + 1)
        with open(path, "w") as fh:
            fh.write(text)
        t = time.perf_counter()
        net = Network(text, path)
        data = file_data(net)
        start = initial_params(net, 0)
        built = time.perf_counter() - t
        options = {**net.options, "epochs": a.epochs, "rate": 0.5}
        train(net, start, data, {**options, "epochs": 1})  # compiles once; not timed below
        t = time.perf_counter()
        ours = train(net, start, data, options)
        t_cg = time.perf_counter() - t
    t = time.perf_counter()
    theirs = by_hand(X, Y, start, a.epochs, 0.5)
    t_hand = time.perf_counter() - t
    same = all(np.allclose(ours.params[k], theirs[k], rtol=1e-8, atol=1e-11) for k in theirs)
    print(f"recurrent net, T = {a.steps} steps, {a.units}-unit state, {a.rows} sequences, "
          f"{a.epochs} epochs (the file unrolled in {built:.2f} s)")
    print(f"   hand-written numpy BPTT  {t_hand / a.epochs * 1000:8.2f} ms/epoch")
    print(f"   cgcalc train             {t_cg / a.epochs * 1000:8.2f} ms/epoch   "
          f"ratio {t_cg / t_hand:.2f}   same params: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
