"""Cost linear in graph size, whole process: `cgcalc diff FILE --at x=... --format plain` on

- sin(sin(...sin(x)...)), N deep (20,000 by default), and
- the chain y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); ... (1,000 steps, 3^1000 paths),

each at two sizes, so the ratio shows the growth; beside a hand-written numpy/Python loop that
computes the same derivative value by the chain rule (the baseline, same run).

    python3 bench/scale.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import table, time_command  # noqa: E402


def sin_chain(n):
    return "sin(" * n + "x" + ")" * n


def y_chain(n):
    return "\n".join(["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, n + 1)])


def by_hand_sin(n, x):
    import math
    d = 1.0
    for _ in range(n):
        d *= math.cos(x)
        x = math.sin(x)
    return d


def by_hand_y(n, x):
    import math
    d = 1.0
    for _ in range(n):
        d *= 2 * x + math.cos(x)
        x = x * x + math.sin(x)
    return d


def main():
    cg = [sys.executable, "-m", "cgcalc"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, make, hand, sizes, x in [
            ("sin chain", sin_chain, by_hand_sin, (10_000, 20_000), 0.3),
            ("y chain", y_chain, by_hand_y, (500, 1_000), -0.5),
        ]:
            prev = None
            for n in sizes:
                path = os.path.join(tmp, f"{label.replace(' ', '_')}_{n}.cg")
                with open(path, "w") as fh:
                    fh.write(make(n))
                t, p = time_command([*cg, "diff", path, "--at", f"x={x}", "--format", "plain"],
                                    runs=5, warmup=1)
                assert p.returncode == 0, p.stderr.decode()
                value = float(p.stdout.decode().rsplit(" = ", 1)[1])
                t0 = time.perf_counter()
                want = hand(n, x)
                t_hand = time.perf_counter() - t0
                ok = abs(value - want) <= 1e-9 * max(1.0, abs(want))
                growth = f"{t / prev:.2f}x for 2x size" if prev else ""
                rows.append((f"{label} n={n:,}", f"{t:.3f} s", growth,
                             f"{t_hand * 1000:.2f} ms", "yes" if ok else "NO"))
                prev = t
    table(rows, ["input", "cgcalc (whole process)", "growth", "hand loop (value only)",
                 "same value"])
    print("\nevery output form stays linear (sin chain, whole process):")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("json", "rich", "latex", "dot"):
            times = []
            for n in (5_000, 10_000):
                path = os.path.join(tmp, f"s{n}.cg")
                with open(path, "w") as fh:
                    fh.write(sin_chain(n))
                t, p = time_command([*cg, "diff", path, "--at", "x=0.3", "--format", fmt],
                                    runs=3, warmup=0)
                assert p.returncode == 0, p.stderr.decode()
                times.append(t)
            print(f"  --format {fmt:5s}  n=5,000 {times[0]:.2f} s   n=10,000 {times[1]:.2f} s   "
                  f"growth {times[1] / times[0]:.2f}x for 2x size")
    print("\nwhere the time goes, in process (largest sizes):")
    for label, make, x in [("sin chain n=20,000", lambda: sin_chain(20_000), 0.3),
                           ("y chain n=1,000", lambda: y_chain(1_000), -0.5)]:
        print(f"  {label}: " + ", ".join(f"{k} {v * 1000:.0f} ms"
                                          for k, v in stages(make(), x).items()))


def stages(text, x):
    """Seconds per stage: Lark's parse, the graph, the derivative (backward pass, simplify,
    values), printing. The collector is set as the CLI sets it."""
    import gc

    from cgcalc.derive import Analysis
    from cgcalc.graph import build
    from cgcalc.parse import parse_program

    out = {}
    gc.collect()
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    t = time.perf_counter()
    stmts = parse_program(text)
    out["parse (LALR tables)"] = time.perf_counter() - t
    t = time.perf_counter()
    g = build(stmts, source=text)
    out["graph"] = time.perf_counter() - t
    t = time.perf_counter()
    a = Analysis(g, ["x"], {"x": x})
    (d,) = a.derivatives()
    out["derivative + print"] = time.perf_counter() - t
    gc.set_threshold(*before)
    return out


if __name__ == "__main__":
    main()
