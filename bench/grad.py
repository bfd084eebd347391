"""`f.grad` at 10^6 points against hand-written numpy for the same derivatives, same run.

    python3 bench/grad.py [--n 1000000] [--repeat 5]

f = exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2). The tape is evaluated whole and in
cache-sized blocks, on one thread and on every core this process may use (the hand-written
code runs on one); ratios below 1 mean cgcalc is faster than the hand-written code.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import cgcalc
from cgcalc.parallel import cores

F = "exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)"


def by_hand(x, y):
    xy = x * y
    s = np.sin(xy)
    E = np.exp(s)
    q = 1 + x * x
    L = np.log(q)
    T = np.tanh(y)
    f = E * L + T / q
    c = E * np.cos(xy) * L
    dx = c * y + E * 2 * x / q - T * 2 * x / (q * q)
    dy = c * x + (1 - T * T) / q
    return f, dx, dy


def best_of_turns(fns, repeat):
    """Each function's best time and result, the functions taking turns (one run each, then
    again, ``repeat`` times), so each sees the machine as the others do: the ratios hold on
    a shared machine whose speed drifts from run to run."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for turn in range(repeat):
        for j in range(len(fns)):  # each turn starts one further along: no row always first
            k = (turn + j) % len(fns)
            t = time.perf_counter()
            outs[k] = fns[k]()
            times[k].append(time.perf_counter() - t)
    return [(min(ts), out) for ts, out in zip(times, outs)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, a.n), rng.uniform(-2, 2, a.n)
    f = cgcalc.function(F)
    f.grad(x=x[:10], y=y[:10])  # compile the tape once, outside the timing
    tape = f.tape()
    labels = ["hand-written numpy"]
    fns = [lambda: by_hand(x, y)]
    for block, threads in ((None, 1), (1 << 14, 1), (1 << 16, None), (1 << 14, None),
                           (1 << 12, None)):
        labels.append("cgcalc tape, whole arrays" if block is None else
                      f"cgcalc tape, blocks of {block}, " +
                      ("one thread" if threads == 1 else f"{cores()} threads"))
        fns.append(lambda block=block, threads=threads: tape.run([x, y], block=block,
                                                                 threads=threads))
    def api():
        g = f.grad(x=x, y=y)
        return [None, g["x"], g["y"]]  # the value is not asked for: None
    labels.append("cgcalc f.grad (API)")
    fns.append(api)
    results = best_of_turns(fns, a.repeat)
    t_hand, (hv, hx, hy) = results[0]
    rows = []
    for label, (t, res) in zip(labels, results):
        assert (res[0] is None or np.allclose(res[0], hv)) and np.allclose(res[1], hx) and \
            np.allclose(res[2], hy)
        rows.append((label, t, t / t_hand))
    print(f"n = {a.n:,} points, best of {a.repeat} turns (each row once a turn, in turn)")
    for label, t, r in rows:
        print(f"  {label:42s} {t * 1000:8.1f} ms   ratio {r:.2f}")
    print(f"tape: {len(f.tape().steps)} numpy calls for value + 2 derivatives")


if __name__ == "__main__":
    main()
