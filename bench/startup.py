"""One-shot start-up: `cgcalc diff 'exp(sin(x^2))' --at x=1 --format plain`, whole process,
beside the same derivative in qalc and maxima (Debian packages `qalc`, `maxima`), in one run.

    python3 bench/startup.py [--runs N] [--fresh-venv]

Prints median wall times and ratios; the commands run in turn, round after round. Also shows
bare Python and `import click, lark`, so the floor that any Python CLI pays is visible.

`--fresh-venv` also installs cgcalc into a new virtual environment (pip; needs PyPI or pip's
cache) and times it from there: Python as on a fresh machine, without what this machine's own
site-packages runs at every start-up (some sandboxes add a `.pth` hook that costs ~25 ms).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _timing import have, table, time_interleaved  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIFF = ["diff", "exp(sin(x^2))", "--at", "x=1", "--format", "plain"]


def cgcalc_cases(py, label):
    script = os.path.join(os.path.dirname(py), "cgcalc")
    cg = [script] if os.path.exists(script) else [py, "-m", "cgcalc"]
    return [
        (f"cgcalc diff (plain){label}", cg + DIFF, None),
        (f"python -c pass{label}", [py, "-c", "pass"], None),
        (f"python -c 'import click, lark'{label}", [py, "-c", "import click, lark"], None),
    ]


def fresh_venv(tmp):
    venv = os.path.join(tmp, "venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    subprocess.run([py, "-m", "pip", "install", "-q", ROOT], check=True)
    # the first run builds the parser cache; the timed runs use it, as every later run does
    subprocess.run([os.path.join(venv, "bin", "cgcalc"), *DIFF], check=True,
                   capture_output=True)
    return py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--fresh-venv", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = cgcalc_cases(sys.executable, "")
        if args.fresh_venv:  # first: the ratios are to what a user's plain install sees
            cases = cgcalc_cases(fresh_venv(tmp), " [fresh venv]") + cases
        if have("qalc"):
            cases.append(("qalc", ["qalc", "-t", "diff(exp(sin(x^2)), x, 1, 1)"], None))
        if have("maxima"):
            cases.append(("maxima --very-quiet", ["maxima", "--very-quiet"],
                          b"at(diff(exp(sin(x^2)),x),x=1), numer;\n"))
        timed = time_interleaved([(argv, stdin) for _, argv, stdin in cases], runs=args.runs)
    results = []
    for (label, _, _), (t, p) in zip(cases, timed):
        shown = p.stdout.decode().strip().splitlines()[-1][-40:] if p.stdout else ""
        results.append((label, t, shown))
    base = results[0][1]
    rows = [(label, f"{t * 1000:.1f} ms", f"{t / base:.2f}", out) for label, t, out in results]
    table(rows, ["command", "median", "time / cgcalc", "last output"])
    py = sys.executable
    imported = os.popen(f"{py} -c \"import sys; sys.argv=['cgcalc','diff','x','--at','x=1',"
                        f"'--format','plain']\nfrom cgcalc.cli import main\ntry: main()\n"
                        f"except SystemExit: pass\nprint(sorted(m for m in ('numpy','rich','lark') "
                        f"if m in sys.modules))\"").read().strip().splitlines()[-1]
    print(f"\nnumpy/rich/lark imported on this path: {imported}")


if __name__ == "__main__":
    main()
