"""Growth with graph size: each shape doubled up to 10^5 nodes, through the API and through
the CLI in every output form, beside a plain-Python scalar tape, all in one run.

Shapes (the size is W, N or K):
- wide:  sin(x0*x1) + sin(x1*x2) + ... over W variables (about 4W nodes)
- deep:  sin(sin(...sin(x)...)), N deep
- chain: y1 = sin(x*x + x); y2 = sin(y1*y1 + y1); ...  K statements (3K nodes, 3^K paths)

Rows, each grown by doubling until --max (10^5 nodes; the chain to K = 32,000) or until the
row has spent --budget seconds, whichever comes first ("stopped: over budget"):
- API: `cgcalc.function(text).grad(**point)`, parsing included, timed inside a fresh process
  of --python (after a tiny warm-up call, so imports are not counted; the garbage collector is
  as the API leaves it), beside bench/scalar_tape.py (micrograd's design) on the same graph in
  the same kind of process, and the ratio API / tape at each size;
- `cgcalc diff FILE --at ... --format F`, F in rich plain json csv latex dot, and
  `cgcalc graph FILE --format F`, F in tree dot mermaid (svg when Graphviz's `dot` is here):
  whole process, output to /dev/null, rich forced (FORCE_COLOR=1, COLUMNS=200);
- the deep and chain shapes as the equation of a `.net` file: `cgcalc diff FILE.net`;
- `cgcalc diff F --points FILE --format csv|json|rich`, 10^3..10^5 rows.

Each line shows the time at that size, the growth factor for the doubling (time / time at
half the size), and the peak memory of the process. The summary at the end gives, per row,
the largest size reached, the time there, the growth per doubling fitted over the whole row
(what a doubling costs, with one noisy run weighing little) and the worst one. A command that
exits nonzero (or a gradient that differs from the tape's) is printed as FAILED, and the
script then exits 1.

    python3 bench/scale.py                                   # this checkout
    python3 bench/scale.py --python /tmp/venv-base/bin/python   # another install
    python3 bench/scale.py --quick                           # a smoke run (--max 1000)
    python3 bench/scale.py --only 'chain.*json' --budget 120 # some rows
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import ENV, have, table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF_FORMATS = ("rich", "plain", "json", "csv", "latex", "dot")
GRAPH_FORMATS = ("tree", "dot", "mermaid") + (("svg",) if have("dot") else ())
POINTS_F = "exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)"
RICH_ENV = {"FORCE_COLOR": "1", "COLUMNS": "200"}
RUN_DIR = None  # an empty directory, the working directory of every process timed
WIDE_VALUES = ("0.3", "0.31", "0.32", "0.33", "0.34", "0.35", "0.36")

API_SCRIPT = r'''
import json, sys, time
text = open(sys.argv[1]).read()
point = json.load(open(sys.argv[2]))
import cgcalc
cgcalc.function("x*y").grad(x=1.0, y=2.0)   # imports and first-call set-up: not timed
t = time.perf_counter()
g = cgcalc.function(text).grad(**point)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "grads": [float(g[n]) for n in json.loads(sys.argv[3])]}))
'''

TAPE_SCRIPT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import scalar_tape
shape, n = sys.argv[2], int(sys.argv[3])
point = json.load(open(sys.argv[4]))
xs = [point[f"x{i}"] for i in range(n)] if shape == "wide" else [point["x"]]
seconds, grads = scalar_tape.run(shape, n, xs)
names = json.loads(sys.argv[5])
index = {name: (int(name[1:]) if shape == "wide" else 0) for name in names}
print(json.dumps({"seconds": seconds, "grads": [grads[index[n]] for n in names]}))
'''


# ---- the shapes -------------------------------------------------------------------------------

def wide(w):
    text = " + ".join(f"sin(x{i}*x{i + 1})" for i in range(w - 1)) + "\n"
    point = {f"x{i}": WIDE_VALUES[i % 7] for i in range(w)}
    return text, point, ["x0", f"x{w // 2}", f"x{w - 1}"]


def deep(n):
    return "sin(" * n + "x" + ")" * n + "\n", {"x": "0.3"}, ["x"]


def chain(k):
    lines = ["y1 = sin(x*x + x)"] + [f"y{i} = sin(y{i - 1}*y{i - 1} + y{i - 1})"
                                     for i in range(2, k + 1)]
    return "\n".join(lines) + "\n", {"x": "-0.3"}, ["x"]


SHAPES = {"wide": (wide, "W"), "deep": (deep, "N"), "chain": (chain, "K")}

NET = """input X[1]
target y[1]
param w[1, 1] ~ uniform(0.5, 0.5)
{body}
C = mse({out}, y)
minimize C
data {{
  0.5 -> 0.2
  -0.3 -> 0.1
}}
"""


def net_deep(n):
    return NET.format(body="h = " + "sin(" * n + "X @ w" + ")" * n, out="h")


def net_chain(k):
    body = ["h0 = X @ w"] + [f"h{i} = sin(h{i - 1}*h{i - 1} + h{i - 1})" for i in range(1, k + 1)]
    return NET.format(body="\n".join(body), out=f"h{k}")


def at_args(point):
    """--at NAME=VALUE,... split so that no one argument passes Linux's 128 KiB limit."""
    out, chunk, size = [], [], 0
    for name, value in point.items():
        item = f"{name}={value}"
        if size + len(item) > 100_000:
            out += ["--at", ",".join(chunk)]
            chunk, size = [], 0
        chunk.append(item)
        size += len(item) + 1
    return out + ["--at", ",".join(chunk)]


def ladder(top, doublings, lo=1):
    """top, top/2, ... (doublings halvings, none below lo), smallest first."""
    sizes = [top]
    while len(sizes) <= doublings and sizes[-1] // 2 >= lo:
        sizes.append(sizes[-1] // 2)
    return sizes[::-1]


def chain_top(max_nodes):
    """The largest K = 1000 * 2^j (j may be negative) with 3K <= max_nodes: K = 1000 is on the
    ladder, as in issue 12's target."""
    k = 1000
    while 3 * k * 2 <= max_nodes:
        k *= 2
    while 3 * k > max_nodes and k > 1:
        k //= 2
    return k


# ---- running one process ----------------------------------------------------------------------

class Failed(Exception):
    pass


def run(argv, timeout, env=None, stdout_to=None):
    """Wall seconds, peak RSS (MB) and stdout text (when stdout_to is a path) of one process;
    None for the seconds if it was killed at the timeout. Raises Failed on a nonzero exit.
    It runs in an empty directory: `python -c` puts the working directory first on sys.path,
    and run from a checkout that would import the checkout's cgcalc, not --python's."""
    with tempfile.TemporaryFile() as err, \
            open(stdout_to or os.devnull, "w+b") as out:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             env={**ENV, **(env or {})}, cwd=RUN_DIR, start_new_session=True)
        killed, peak, done = [], [0], threading.Event()

        def watch():  # the kill at the timeout, and the peak memory, polled
            deadline = t + timeout
            while not done.wait(0.02):
                peak[0] = max(peak[0], high_water(p.pid, argv))
                if time.perf_counter() > deadline:
                    killed.append(True)
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, _ = os.wait4(p.pid, 0)  # blocks here, so the wall time is exact
        wall = time.perf_counter() - t
        done.set()
        watcher.join()
        p.returncode = os.waitstatus_to_exitcode(status)
        if killed:
            return None, wall, peak[0], ""
        if p.returncode != 0:
            err.seek(0)
            shown = " ".join(a if len(a) < 200 else a[:60] + f"...({len(a)} chars)" for a in argv)
            raise Failed(f"{shown} failed (exit {p.returncode}):\n"
                         + err.read().decode(errors="replace")[-2000:])
        out.seek(0)
        return wall, wall, peak[0], out.read().decode() if stdout_to else ""


def high_water(pid, argv):
    """VmHWM of the process in MB, once it runs argv (before its exec it is a copy of this
    process, whose memory is not its own; for the same reason rusage's ru_maxrss, which keeps
    the largest memory the process had before exec too, is not used)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().split(b"\0")[:-1]
        if [c.decode(errors="replace") for c in cmd[-(len(argv) - 1):]] != list(argv[1:]):
            return 0
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0


# ---- rows -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.py = args.python
        script = os.path.join(os.path.dirname(self.py), "cgcalc")
        self.cg = [script] if os.path.exists(script) else [self.py, "-m", "cgcalc"]
        self.summary = []
        self.failures = 0
        self.files = {}

    def file(self, name, make):
        path = self.files.get(name)
        if path is None:
            path = self.files[name] = os.path.join(self.tmp, name)
            with open(path, "w") as fh:
                fh.write(make())
        return path

    def shape_files(self, shape, n):
        text, point, names = SHAPES[shape][0](n)
        src = self.file(f"{shape}_{n}.cg", lambda: text)
        pt = self.file(f"{shape}_{n}.json", lambda: json.dumps({k: float(v) for k, v in
                                                               point.items()}))
        return src, pt, point, names

    def row(self, label, unit, sizes, measure, ratio_to=None):
        """Doubles through sizes while the row's budget lasts. measure(n, timeout) returns
        (seconds shown, wall seconds spent, peak MB, note) or seconds None if killed."""
        if self.args.only and not re.search(self.args.only, label):
            return None
        print(f"\n{label}", flush=True)
        budget, spent, times, status = self.args.budget, 0.0, {}, "complete"
        prev = growth = None
        for n in sizes:
            left = budget - spent
            if prev is not None:
                predicted = times[prev] * max(2.0, growth or 2.0)
                if spent >= budget or predicted > left:
                    print(f"  stopped: over budget ({spent:.0f} s of {budget:.0f} s spent; "
                          f"{unit}={n:,} predicted ~{predicted:.0f} s)", flush=True)
                    status = f"stopped: over budget ({unit}={n:,} predicted ~{predicted:.0f} s)"
                    break
            samples, peak, note = [], 0.0, ""
            try:
                while True:
                    shown, wall, mb, note = measure(n, max(left, 1.0))
                    spent += wall
                    left = budget - spent
                    peak = max(peak, mb)
                    if shown is None:
                        break
                    samples.append(shown)
                    if len(samples) >= self.args.repeat or wall > 2.0 or left < 3 * wall:
                        break
            except Failed as e:
                self.failures += 1
                status = f"FAILED at {unit}={n:,}"
                print(f"  {unit}={n:>7,}  FAILED\n" + "\n".join("    " + line for line in
                                                            str(e).splitlines()), flush=True)
                break
            if not samples:
                print(f"  {unit}={n:>7,}  > {wall:.1f} s (killed at the budget)\n"
                      "  stopped: over budget", flush=True)
                status = f"stopped: over budget ({unit}={n:,} killed at > {wall:.0f} s)"
                break
            t = statistics.median(samples)
            growth = t / times[prev] if prev is not None else None
            times[n] = t
            ratio = ""
            if ratio_to is not None and ratio_to.get(n):
                ratio = f"  {t / ratio_to[n]:6.1f}x the tape"
            g = f"x{growth:.2f}" if growth is not None else ""
            runs = f"median of {len(samples)}" if len(samples) > 1 else "1 run"
            print(f"  {unit}={n:>7,}  {t:9.3f} s  {g:>6}  {peak:7.0f} MB  ({runs}){ratio}"
                  f"{'  ' + note if note else ''}", flush=True)
            prev = n
        if prev is not None and status == "complete" and prev != sizes[-1]:
            status = "stopped"
        pairs = list(times.values())
        worst = max((b / a for a, b in zip(pairs, pairs[1:])), default=None)
        fitted = fitted_growth(times)
        self.summary.append((label, f"{unit}={prev:,}" if prev else "-",
                             f"{times[prev]:.3f} s" if prev else "-",
                             f"x{fitted:.2f}" if fitted else "-",
                             f"x{worst:.2f}" if worst else "-", status))
        return times

    # the measurements

    def api(self, shape, tape_grads):
        def measure(n, timeout):
            src, pt, _, names = self.shape_files(shape, n)
            with tempfile.NamedTemporaryFile(dir=self.tmp) as res:
                t, wall, peak, out = run([self.py, "-c", API_SCRIPT, src, pt, json.dumps(names)],
                                         timeout, stdout_to=res.name)
            if t is None:
                return None, wall, peak, ""
            got = json.loads(out.splitlines()[-1])
            want = tape_grads.get(n)
            if want is not None:
                for name, a, b in zip(names, got["grads"], want):
                    if not abs(a - b) <= 1e-6 * max(abs(b), 1e-300):
                        raise Failed(f"{shape} {n}: d/d{name} = {a!r} from the API, "
                                     f"{b!r} from the tape: GRADIENT DIFFERS")
            return got["seconds"], wall, peak, f"whole process {wall:.2f} s"
        return measure

    def tape(self, shape, grads):
        def measure(n, timeout):
            _, pt, _, names = self.shape_files(shape, n)
            with tempfile.NamedTemporaryFile(dir=self.tmp) as res:
                t, wall, peak, out = run([self.py, "-c", TAPE_SCRIPT, HERE, shape, str(n), pt,
                                          json.dumps(names)], timeout, stdout_to=res.name)
            if t is None:
                return None, wall, peak, ""
            got = json.loads(out.splitlines()[-1])
            grads[n] = got["grads"]
            return got["seconds"], wall, peak, ""
        return measure

    def command(self, make_argv, env=None):
        def measure(n, timeout):
            t, wall, peak, _ = run(make_argv(n), timeout, env=env)
            return t, wall, peak, ""
        return measure

    def main(self):
        a = self.args
        where = subprocess.run([self.py, "-c", "import cgcalc; print(cgcalc.__file__)"],
                               capture_output=True, text=True, env=ENV, cwd=RUN_DIR,
                               check=True).stdout.strip()
        print(f"$ {' '.join(sys.argv)}\npython {self.py}\ncgcalc {where}\nCLI    {' '.join(self.cg)}\n"
              f"max {a.max:,} nodes, {a.doublings} doublings, budget {a.budget:.0f} s per row, "
              f"up to {a.repeat} runs per size (median; 1 run above 2 s), {os.cpu_count()} cores")
        floor = statistics.median(
            run([*self.cg, "diff", "x", "--at", "x=1", "--format", "plain"], 60)[0]
            for _ in range(5))
        print(f"start-up floor, `cgcalc diff x --at x=1 --format plain`: {floor * 1000:.0f} ms")
        sizes = {"wide": ladder(a.max, a.doublings), "deep": ladder(a.max, a.doublings),
                 "chain": ladder(chain_top(a.max), a.doublings)}

        print("\n== API: cgcalc.function(text).grad(**point), in-process seconds "
              "(parsing included), and the scalar tape (bench/scalar_tape.py)")
        for shape, (_, unit) in SHAPES.items():
            grads = {}
            tape = self.row(f"scalar tape {shape}", unit, sizes[shape], self.tape(shape, grads))
            self.row(f"API grad {shape}", unit, sizes[shape], self.api(shape, grads),
                     ratio_to=tape)

        print("\n== cgcalc diff FILE --at POINT --format F (whole process)")
        for shape, (_, unit) in SHAPES.items():
            for fmt in DIFF_FORMATS:
                self.row(f"diff {shape} --format {fmt}", unit, sizes[shape], self.command(
                    lambda n, shape=shape, fmt=fmt: [
                        *self.cg, "diff", self.shape_files(shape, n)[0],
                        *at_args(self.shape_files(shape, n)[2]), "--format", fmt],
                    env=RICH_ENV if fmt == "rich" else None))

        print("\n== cgcalc graph FILE --format F (whole process)")
        for shape, (_, unit) in SHAPES.items():
            for fmt in GRAPH_FORMATS:
                self.row(f"graph {shape} --format {fmt}", unit, sizes[shape], self.command(
                    lambda n, shape=shape, fmt=fmt: [
                        *self.cg, "graph", self.shape_files(shape, n)[0], "--format", fmt]))

        print("\n== cgcalc diff FILE.net --format F: the shape as the equation of a network "
              "(whole process)")
        for shape, make, unit in (("deep", net_deep, "N"), ("chain", net_chain, "K")):
            for fmt in ("plain", "json"):
                self.row(f"net {shape} --format {fmt}", unit, sizes[shape], self.command(
                    lambda n, shape=shape, make=make, fmt=fmt: [
                        *self.cg, "diff", self.file(f"net_{shape}_{n}.net", lambda: make(n)),
                        "--format", fmt]))

        print(f"\n== cgcalc diff '{POINTS_F}' --points FILE --format F (whole process)")
        rows = ladder(a.max, a.doublings, lo=min(1000, a.max // 2))
        for fmt in ("csv", "json", "rich"):
            self.row(f"points --format {fmt}", "rows", rows, self.command(
                lambda n, fmt=fmt: [*self.cg, "diff", POINTS_F, "--points",
                                    self.file(f"points_{n}.csv", lambda: points_csv(n)),
                                    "--format", fmt],
                    env=RICH_ENV if fmt == "rich" else None))

        print("\n== summary: per row, the largest size reached, the time there, the growth per "
              "doubling fitted over the row (2^slope of log time against log size, sizes taking "
              f"{FIT_FROM} s or more: start-up and noise weigh less than in any one doubling) "
              "and the worst single doubling\n")
        table(self.summary, ["row", "largest size", "time there", "fitted growth",
                             "worst doubling", "status"])
        if self.failures:
            print(f"\n{self.failures} row(s) FAILED: see above", file=sys.stderr)
            return 1
        return 0


FIT_FROM = 0.2  # seconds: smaller sizes are mostly start-up, left out of the fitted growth


def fitted_growth(times):
    """2 ** (least-squares slope of log2 time on log2 size), over the sizes taking FIT_FROM s or
    more (all sizes when fewer than three do): the growth per doubling of the row as a whole."""
    import math

    kept = [(n, t) for n, t in times.items() if t > 0]
    big = [(n, t) for n, t in kept if t >= FIT_FROM]
    pts = [(math.log2(n), math.log2(t)) for n, t in (big if len(big) >= 3 else kept)]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return 2 ** (sum((x - mx) * (y - my) for x, y in pts) / sxx) if sxx else None


def points_csv(n):
    return "x,y\n" + "".join(f"{0.1 + (i % 97) / 50},{-1 + (i % 89) / 40}\n" for i in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable,
                    help="the python that runs the API rows; its sibling `cgcalc` runs the CLI "
                         "(default: this python)")
    ap.add_argument("--max", type=int, default=100_000, help="largest size (nodes)")
    ap.add_argument("--doublings", type=int, default=7, help="sizes per row, less one")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="seconds one row may spend before its doubling stops")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size when a run is short")
    ap.add_argument("--only", metavar="REGEX", help="only the rows whose label matches")
    ap.add_argument("--quick", action="store_true", help="a smoke run: --max 1000, 2 doublings, "
                    "budget 5 s, 1 run per size")
    args = ap.parse_args()
    if args.quick:
        args.max, args.doublings, args.budget, args.repeat = 1000, 2, 5.0, 1
    args.python = os.path.abspath(args.python)
    global RUN_DIR
    with tempfile.TemporaryDirectory() as tmp:
        RUN_DIR = os.path.join(tmp, "cwd")
        os.mkdir(RUN_DIR)
        return Bench(args, tmp).main()


if __name__ == "__main__":
    sys.exit(main())
