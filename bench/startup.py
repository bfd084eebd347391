"""One-shot start-up: `cgcalc diff 'exp(sin(x^2))' --at x=1 --format plain`, whole process,
beside the same derivative in qalc and maxima (Debian packages `qalc`, `maxima`), in one run.

    python3 bench/startup.py [--runs N]

Prints median wall times and ratios. Also shows bare Python and `import click, lark` so the
floor that any Python CLI pays on this machine is visible.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import have, table, time_command  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    py = sys.executable
    cg = [py, "-m", "cgcalc", "diff", "exp(sin(x^2))", "--at", "x=1", "--format", "plain"]
    script = os.path.join(os.path.dirname(py), "cgcalc")
    if os.path.exists(script):
        cg = [script] + cg[3:]
    cases = [("cgcalc diff (plain)", cg, None, False)]
    if have("qalc"):
        cases.append(("qalc", ["qalc", "-t", "diff(exp(sin(x^2)), x, 1, 1)"], None, False))
    if have("maxima"):
        cases.append(("maxima --very-quiet", ["maxima", "--very-quiet"],
                      b"at(diff(exp(sin(x^2)),x),x=1), numer;\n", False))
    cases += [
        ("python -c pass (floor)", [py, "-c", "pass"], None, False),
        ("python -c 'import click, lark'", [py, "-c", "import click, lark"], None, False),
    ]
    results = []
    for label, argv, stdin, shell in cases:
        t, p = time_command(argv, runs=args.runs, input=stdin, shell=shell)
        shown = p.stdout.decode().strip().splitlines()[-1][-40:] if p.stdout else ""
        results.append((label, t, shown))
    base = results[0][1]
    rows = [(label, f"{t * 1000:.1f} ms", f"{t / base:.2f}", out) for label, t, out in results]
    table(rows, ["command", "median", "time / cgcalc", "last output"])
    imported = os.popen(f"{py} -c \"import sys; sys.argv=['cgcalc','diff','x','--at','x=1',"
                        f"'--format','plain']\nfrom cgcalc.cli import main\ntry: main()\n"
                        f"except SystemExit: pass\nprint(sorted(m for m in ('numpy','rich') "
                        f"if m in sys.modules))\"").read().strip().splitlines()[-1]
    print(f"\nnumpy/rich imported on this path: {imported}")


if __name__ == "__main__":
    main()
