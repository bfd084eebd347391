"""Shared by the bench scripts: time whole commands, side by side, in one run."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time

# Time programs as installed: with their bytecode caches. (Some sandboxes export
# PYTHONDONTWRITEBYTECODE=1, which makes every Python start-up compile its modules again.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_command(argv, runs=15, warmup=2, input=None, shell=False):
    """Median wall time (seconds) of a whole process, and its last output."""
    out = None
    for _ in range(warmup):
        subprocess.run(argv, input=input, capture_output=True, shell=shell, check=False, env=ENV)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(argv, input=input, capture_output=True, shell=shell, check=False,
                           env=ENV)
        samples.append(time.perf_counter() - t)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, argv))} failed (exit {p.returncode}):\n"
                             + p.stderr.decode(errors="replace")[-2000:])
        out = p
    return statistics.median(samples), out


def have(program):
    return shutil.which(program) is not None


def table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
