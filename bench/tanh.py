"""Training's tanh (cgcalc.arraymath.tanh_from_exp) against numpy's, same run.

    python3 bench/tanh.py [--rows 5000] [--repeat 20]

Each row is a (rows, 64) array of normal numbers of one spread, from a tanh layer's usual
numbers (spread 1.5: few below 0.05, where the series takes over) to a network started with
small weights (spread 0.01: all of them); the two functions take turns and the best time of
each is kept. A ratio below 1 means training's tanh is faster. The last column is the largest
difference from numpy's, in units in the last place.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cgcalc.arraymath import SERIES_BELOW, tanh_from_exp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    out = np.empty((a.rows, 64))
    print(f"(rows, 64) = ({a.rows}, 64), best of {a.repeat} turns")
    print("spread  below 0.05   numpy tanh   tanh_from_exp   ratio   ulps")
    for spread in (1.5, 0.3, 0.15, 0.1, 0.075, 0.05, 0.03, 0.01):
        x = rng.normal(0.0, spread, out.shape)
        best = [np.inf, np.inf]
        for _ in range(a.repeat):
            for k, fn in enumerate((np.tanh, tanh_from_exp)):
                t = time.perf_counter()
                fn(x, out=out)
                best[k] = min(best[k], time.perf_counter() - t)
        want = np.tanh(x)
        ulps = (np.abs(tanh_from_exp(x) - want) / np.spacing(np.abs(want))).max()
        print(f"{spread:6.3f}  {np.mean(np.abs(x) < SERIES_BELOW):10.2f}   "
              f"{best[0] * 1e3:7.2f} ms   {best[1] * 1e3:10.2f} ms   {best[1] / best[0]:5.2f}"
              f"   {ulps:4.0f}")


if __name__ == "__main__":
    main()
