"""End to end, CSV in and CSV out for 10^6 rows: rows per second of

    cgcalc diff 'exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)' --points FILE --format csv

beside the same pipeline written by hand (numpy.loadtxt, the derivatives in numpy,
numpy.savetxt), each a whole process, in one run. Also the peak memory of each.

    python3 bench/pipeline.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

F = "exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)"

BY_HAND = r'''
import sys
import numpy as np
x, y = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, unpack=True)
xy = x * y; E = np.exp(np.sin(xy)); q = 1 + x * x; L = np.log(q); T = np.tanh(y)
f = E * L + T / q
c = E * np.cos(xy) * L
dx = c * y + E * 2 * x / q - T * 2 * x / (q * q)
dy = c * x + (1 - T * T) / q
np.savetxt(sys.stdout, np.column_stack([x, y, f, dx, dy]), delimiter=",", fmt="%.17g",
           header="x,y,value,d/dx,d/dy", comments="")
'''


WRAP = ("import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
        " p.returncode)\n")


def timed(argv):
    """(seconds, peak RSS in KB) of one whole process, measured by a fresh parent."""
    out = subprocess.run([sys.executable, "-c", WRAP, *argv], capture_output=True, text=True)
    elapsed, peak, rc = out.stdout.split()
    assert rc == "0", out.stderr
    return float(elapsed), int(peak)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "points.csv")
        rng = np.random.default_rng(1)
        np.savetxt(path, rng.uniform(-2, 2, (a.rows, 2)), delimiter=",", fmt="%.17g",
                   header="x,y", comments="")
        script = os.path.join(tmp, "by_hand.py")
        with open(script, "w") as fh:
            fh.write(BY_HAND)
        t_hand, m_hand = timed([sys.executable, script, path])
        t_cg, m_cg = timed([sys.executable, "-m", "cgcalc", "diff", F, "--points", path,
                            "--format", "csv"])
    print(f"{a.rows:,} rows, CSV in, CSV out (value and 2 derivatives)")
    print(f"  loadtxt + numpy + savetxt  {t_hand:6.2f} s  {a.rows / t_hand:10,.0f} rows/s")
    print(f"  cgcalc diff --points       {t_cg:6.2f} s  {a.rows / t_cg:10,.0f} rows/s   "
          f"ratio {t_cg / t_hand:.2f}")
    print(f"  peak memory: by hand {m_hand / 1024:.0f} MB (holds every row), cgcalc "
          f"{m_cg / 1024:.0f} MB (streams)")


if __name__ == "__main__":
    main()
