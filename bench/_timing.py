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


def time_command(argv, runs=15, warmup=2, input=None):
    """Median wall time (seconds) of a whole process, and its last output."""
    return time_interleaved([(argv, input)], runs=runs, warmup=warmup)[0]


def time_interleaved(cases, runs=15, warmup=2):
    """Median wall time of each ``(argv, stdin)`` in ``cases``, running them in turn, so a
    machine that speeds up or slows down during the run affects them all alike."""
    samples = [[] for _ in cases]
    last = [None] * len(cases)
    for r in range(warmup + runs):
        for k, (argv, stdin) in enumerate(cases):
            t = time.perf_counter()
            p = subprocess.run(argv, input=stdin, capture_output=True, check=False, env=ENV)
            dt = time.perf_counter() - t
            if p.returncode != 0:
                raise SystemExit(f"{' '.join(map(str, argv))} failed (exit {p.returncode}):\n"
                                 + p.stderr.decode(errors="replace")[-2000:])
            if r >= warmup:
                samples[k].append(dt)
            last[k] = p
    return [(statistics.median(s), p) for s, p in zip(samples, last)]


def have(program):
    return shutil.which(program) is not None


def table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
