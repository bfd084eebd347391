"""Training speed against hand-written numpy backprop, measured in the same run.

1. `cgcalc train examples/xor.net --epochs 20000`, whole process, beside a plain Python script
   that runs the textbook backprop loop for the same net, seed and epochs.
2. A 2-64-64-1 network on 10,000 generated points: time per epoch of cgcalc's compiled tape
   beside the hand-written loop (in process, so start-up does not count), and of cgcalc's tape
   run whole (no blocks of rows: cgcalc/rowblocks.py).

    python3 bench/train.py [--epochs 20000] [--big-epochs 200] [--rounds 3]
    python3 bench/train.py --python /path/to/other/venv/bin/python   # part 1 with another cgcalc
    python3 bench/train.py --units 512 --rows 8192 --big-epochs 6    # other sizes of part 2
    python3 bench/train.py --units 1024 --rows 8192 --least-rows 32  # blocks of 63 rows
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

XOR_BY_HAND = r'''
import sys
import numpy as np
epochs, rate = int(sys.argv[1]), 0.5
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([[0], [1], [1], [0]], dtype=float)
rng = np.random.default_rng(2)
t1 = rng.uniform(-1, 1, (3, 2)); t2 = rng.uniform(-1, 1, (3, 1))
m = X.shape[0]
L1 = np.hstack([X, np.ones((m, 1))])
for _ in range(epochs):
    A2 = 1 / (1 + np.exp(-(L1 @ t1)))
    L2 = np.hstack([A2, np.ones((m, 1))])
    L3 = 1 / (1 + np.exp(-(L2 @ t2)))
    d3 = L3 - y
    d2 = (d3 @ t2[:2].T) * A2 * (1 - A2)
    t1 -= rate * (L1.T @ d2) / m
    t2 -= rate * (L2.T @ d3) / m
cost = -np.mean(y * np.log(L3) + (1 - y) * np.log(1 - L3))
print(cost)
'''

BIG_NET = """
input  X[2]
target y[1]
param  W1[3, UNITS] ~ normal(0, 0.5)
param  W2[UNITS1, UNITS] ~ normal(0, 0.2)
param  W3[UNITS1, 1] ~ normal(0, 0.2)
H1 = tanh([X, 1] @ W1)
H2 = tanh([H1, 1] @ W2)
P  = sigmoid([H2, 1] @ W3)
C  = cross_entropy(P, y)
output P
minimize C
data "points.csv"
train epochs=100 rate=0.5 seed=0
"""


def big_by_hand(X, y, W1, W2, W3, epochs, rate):
    m = X.shape[0]
    one = np.ones((m, 1))
    A0 = np.hstack([X, one])
    for _ in range(epochs):
        H1 = np.tanh(A0 @ W1)
        A1 = np.hstack([H1, one])
        H2 = np.tanh(A1 @ W2)
        A2 = np.hstack([H2, one])
        P = 1 / (1 + np.exp(-(A2 @ W3)))
        d3 = (P - y) / m
        d2 = (d3 @ W3[:-1].T) * (1 - H2 * H2)
        d1 = (d2 @ W2[:-1].T) * (1 - H1 * H1)
        W3 -= rate * (A2.T @ d3)
        W2 -= rate * (A1.T @ d2)
        W1 -= rate * (A0.T @ d1)
    return W1, W2, W3


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv, cwd=None):
    """Seconds of one whole process, the best of three (after a first run has written the
    bytecode caches), run in ``cwd`` (an empty directory: so ``python -m cgcalc`` finds the
    install asked for, not a checkout in the current directory)."""
    subprocess.run(argv, capture_output=True, env=ENV, cwd=cwd)
    best = None
    for _ in range(3):  # the best of three: the machine's other work only adds time
        t = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=cwd)
        t = time.perf_counter() - t
        assert p.returncode == 0, p.stderr
        best = t if best is None else min(best, t)
    return best, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20000)
    ap.add_argument("--big-epochs", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="turns of part 2 (the best is kept)")
    ap.add_argument("--units", type=int, default=64, help="units of each hidden layer, part 2")
    ap.add_argument("--rows", type=int, default=10_000, help="rows of data, part 2")
    ap.add_argument("--least-rows", type=int, default=None,
                    help="the fewest rows a block may have (cgcalc/rowblocks.py's LEAST_ROWS)")
    ap.add_argument("--python", default=sys.executable,
                    help="the python whose cgcalc part 1 runs (another install, to compare)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "xor_by_hand.py")
        with open(script, "w") as fh:
            fh.write(XOR_BY_HAND)

        def cgcalc_train(epochs):
            return wall([a.python, "-m", "cgcalc", "train",
                         os.path.join(ROOT, "examples", "xor.net"), "--epochs", str(epochs),
                         "--format", "json", "--quiet"], cwd=tmp)

        t_hand, out_hand = wall([sys.executable, script, str(a.epochs)])
        t_cg, out_cg = cgcalc_train(a.epochs)
        import json
        cost_cg = json.loads(out_cg)["cost"]
        print(f"1. xor.net, {a.epochs:,} epochs, whole process")
        print(f"   hand-written numpy script  {t_hand:6.2f} s   final cost {float(out_hand):.6g}")
        print(f"   cgcalc train               {t_cg:6.2f} s   final cost {cost_cg:.6g}   "
              f"ratio {t_cg / t_hand:.2f}")
        # one epoch, start-up removed: the time of 2N epochs less the time of N
        e_hand = (wall([sys.executable, script, str(2 * a.epochs)])[0] - t_hand) / a.epochs
        e_cg = (cgcalc_train(2 * a.epochs)[0] - t_cg) / a.epochs
        print(f"   one epoch (2N epochs less N): hand {e_hand * 1e6:6.1f} us, cgcalc "
              f"{e_cg * 1e6:6.1f} us   ratio {e_cg / e_hand:.2f}")

        rng = np.random.default_rng(0)
        X = rng.uniform(-1, 1, (a.rows, 2))
        y = (np.sin(3 * X[:, :1]) * np.cos(2 * X[:, 1:]) > 0).astype(float)
        np.savetxt(os.path.join(tmp, "points.csv"), np.hstack([X, y]), delimiter=",")
        path = os.path.join(tmp, "big.net")
        text = BIG_NET.replace("UNITS1", str(a.units + 1)).replace("UNITS", str(a.units))
        with open(path, "w") as fh:
            fh.write(text)
        from cgcalc.net import Network
        from cgcalc.net.data import file_data
        from cgcalc.net.params import initial_params
        from cgcalc.net.train import train

        from cgcalc import rowblocks

        if a.least_rows is not None:
            rowblocks.LEAST_ROWS = a.least_rows
        net = Network(text, path)
        data = file_data(net)
        start = initial_params(net, 0)
        options = {**net.options, "epochs": a.big_epochs, "rate": 0.5}
        t_cg = t_hand = t_whole = math.inf
        plan = rowblocks.plan
        for _ in range(a.rounds):  # taken in turns, the best of each: other work only adds time
            t = time.perf_counter()
            r = train(net, {k: v.copy() for k, v in start.items()}, data, options)
            t_cg = min(t_cg, time.perf_counter() - t)
            rowblocks.plan = lambda *args: None  # the tape run whole
            try:
                t = time.perf_counter()
                train(net, {k: v.copy() for k, v in start.items()}, data, options)
                t_whole = min(t_whole, time.perf_counter() - t)
            finally:
                rowblocks.plan = plan
            t = time.perf_counter()
            W = big_by_hand(X, y, *(start[k].copy() for k in ("W1", "W2", "W3")), a.big_epochs,
                            0.5)
            t_hand = min(t_hand, time.perf_counter() - t)
        same = np.allclose(W[2], r.params["W3"], rtol=1e-6, atol=1e-9)
        print(f"2. 2-{a.units}-{a.units}-1 on {a.rows:,} points, {a.big_epochs} epochs, best of "
              f"{a.rounds} turns (tape compiled once)")
        print(f"   hand-written numpy  {t_hand / a.big_epochs * 1000:7.2f} ms/epoch")
        print(f"   cgcalc              {t_cg / a.big_epochs * 1000:7.2f} ms/epoch   "
              f"ratio {t_cg / t_hand:.2f}   same params: {'yes' if same else 'NO'}")
        print(f"   cgcalc, tape whole  {t_whole / a.big_epochs * 1000:7.2f} ms/epoch   "
              f"ratio {t_whole / t_hand:.2f}")


if __name__ == "__main__":
    main()
