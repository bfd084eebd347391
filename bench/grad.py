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


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, a.n), rng.uniform(-2, 2, a.n)
    f = cgcalc.function(F)
    f.grad(x=x[:10], y=y[:10])  # compile the tape once, outside the timing
    t_hand, (hv, hx, hy) = best(lambda: by_hand(x, y), a.repeat)
    rows = [("hand-written numpy", t_hand, 1.0)]
    tape = f.tape()
    for block, threads in ((None, 1), (1 << 14, 1), (1 << 16, None), (1 << 14, None),
                           (1 << 12, None)):
        t, res = best(lambda: tape.run([x, y], block=block, threads=threads), a.repeat)
        assert np.allclose(res[0], hv) and np.allclose(res[1], hx) and np.allclose(res[2], hy)
        label = ("cgcalc tape, whole arrays" if block is None else
                 f"cgcalc tape, blocks of {block}, " +
                 ("one thread" if threads == 1 else f"{cores()} threads"))
        rows.append((label, t, t / t_hand))
    t, g = best(lambda: f.grad(x=x, y=y), a.repeat)
    rows.append(("cgcalc f.grad (API)", t, t / t_hand))
    print(f"n = {a.n:,} points, best of {a.repeat}")
    for label, t, r in rows:
        print(f"  {label:42s} {t * 1000:8.1f} ms   ratio {r:.2f}")
    print(f"tape: {len(f.tape().steps)} numpy calls for value + 2 derivatives")


if __name__ == "__main__":
    main()
