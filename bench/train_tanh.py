"""One epoch of the 2-64-64-1 net (bench/train.py's) with training's tanh against the same tape
on numpy's tanh, the two taking turns in one process, for three starting spreads of the
weights. A ratio below 1 means training's tanh makes the epoch faster.

    python3 bench/train_tanh.py [--turns 30]

"usual" is bench/train.py's net; "small" starts from normal(0, 0.005) and normal(0, 0.002)
(every tanh input below 0.05, where tanh_from_exp is the series alone); "between" from
normal(0, 0.05) and normal(0, 0.1) (a third to a half below 0.05, its slowest case).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import BIG_NET  # noqa: E402  (this folder's bench/train.py)

SPREADS = {
    "usual": {},
    "small": {"W1[3, 64] ~ normal(0, 0.5)": "W1[3, 64] ~ normal(0, 0.005)",
              "W2[65, 64] ~ normal(0, 0.2)": "W2[65, 64] ~ normal(0, 0.002)",
              "W3[65, 1] ~ normal(0, 0.2)": "W3[65, 1] ~ normal(0, 0.002)"},
    "between": {"W1[3, 64] ~ normal(0, 0.5)": "W1[3, 64] ~ normal(0, 0.05)",
                "W2[65, 64] ~ normal(0, 0.2)": "W2[65, 64] ~ normal(0, 0.1)"},
}


def epochs(text, path, tanh):
    """A function running 4 epochs of plain gradient descent on the gradients-only tape, with
    ``tanh`` as training's tanh; and the params it moves."""
    from cgcalc.net import Network, backprop
    from cgcalc.net.data import file_data
    from cgcalc.net.params import initial_params

    net = Network(text, path)
    data = file_data(net)
    before = backprop.TRAINING["tanh"]
    backprop.TRAINING["tanh"] = tanh
    try:
        (_, grads, _), _ = backprop.train_tapes(net)
    finally:
        backprop.TRAINING["tanh"] = before
    params = {p: np.array(v, dtype=float) for p, v in initial_params(net, 0).items()}
    env = net.env(params, data)
    template, buffers = grads.prepare(env), {}
    arrays = [params[p] for p in net.params]

    def run():
        for _ in range(4):
            for a, g in zip(arrays, grads.run_prepared(template, env, buffers)):
                a -= 0.5 * g

    return run, arrays


def main():
    from cgcalc import parallel
    from cgcalc.net import backprop

    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=30)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (10_000, 2))
    y = (np.sin(3 * X[:, :1]) * np.cos(2 * X[:, 1:]) > 0).astype(float)
    with tempfile.TemporaryDirectory() as tmp:
        np.savetxt(os.path.join(tmp, "points.csv"), np.hstack([X, y]), delimiter=",")
        path = os.path.join(tmp, "big.net")
        print(f"2-64-64-1 on 10,000 rows, 4 epochs a turn, {a.turns} turns: median of the "
              "paired ratios")
        for name, changes in SPREADS.items():
            text = BIG_NET
            for old, new in changes.items():
                text = text.replace(old, new)
            runs = [epochs(text, path, fn) for fn in (np.tanh, backprop.training_tanh)]
            times: list = [[], []]
            with parallel.one_blas_thread():
                for turn in range(a.turns):
                    for k in (0, 1) if turn % 2 else (1, 0):
                        t = time.perf_counter()
                        runs[k][0]()
                        times[k].append(time.perf_counter() - t)
            ratio = np.median(np.array(times[1]) / np.array(times[0]))
            close = all(np.allclose(p, q, rtol=1e-6, atol=1e-9)
                        for p, q in zip(runs[0][1], runs[1][1]))
            print(f"   {name:8s} numpy's tanh {min(times[0]) / 4 * 1e3:6.2f} ms/epoch   "
                  f"training's {min(times[1]) / 4 * 1e3:6.2f} ms/epoch   ratio {ratio:.2f}   "
                  f"same params (1e-6): {'yes' if close else 'NO'}")


if __name__ == "__main__":
    main()
