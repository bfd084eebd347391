"""Pipelines: --points in (CSV, JSON Lines), one row out per point, in order; bad rows, domain
warnings, closed pipes, Ctrl-C and flat memory on real processes."""

import json
import math
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import cgcalc
from cgcalc.cli import main

F = "exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)"


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def rows_csv(n, extra=False):
    lines = ["id,x,y,note" if extra else "x,y"]
    for i in range(n):
        x, y = -1.5 + 3 * i / max(1, n - 1), 0.7 - i / max(1, n)
        lines.append(f"{i},{x},{y},\"r,{i}\"" if extra else f"{x},{y}")
    return "\n".join(lines) + "\n"


def test_csv_round_trip_order_and_values():
    r = run("diff", F, "--points", "-", "--format", "csv", input=rows_csv(100))
    assert r.exit_code == 0
    out = r.stdout.splitlines()
    assert out[0] == "x,y,value,d/dx,d/dy"
    f = cgcalc.function(F)
    rows = [list(map(float, line.split(","))) for line in out[1:]]
    for line, given in zip(out[1:], rows_csv(100).splitlines()[1:]):
        assert line.startswith(given + ",")  # inputs carried through as written
    x, y, v, dx, dy = (np.array(c) for c in zip(*rows))
    value, g = f.value_and_grad(x=x, y=y)  # the same numpy calls: the same numbers, bit for bit
    assert list(v) == list(value) and list(dx) == list(g["x"]) and list(dy) == list(g["y"])
    for i in range(0, 100, 7):  # one point at a time (math's functions, not numpy's): an ulp
        one, g1 = f.value_and_grad(x=x[i], y=y[i])
        assert math.isclose(one, v[i], rel_tol=1e-14)
        assert math.isclose(g1["x"], dx[i], rel_tol=1e-13) and math.isclose(g1["y"], dy[i],
                                                                          rel_tol=1e-13)
    assert len(out) == 101


def test_extra_columns_carried_through_unchanged():
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=rows_csv(5, extra=True))
    out = r.stdout.splitlines()
    assert out[0] == "id,x,y,note,value,d/dx,d/dy"
    assert out[3].startswith('2,') and '"r,2"' in out[3]


def test_json_lines_in_and_out():
    src = '{"x": 1, "y": 2, "tag": "a"}\n\n{"x": 0.5, "y": -1}\n'
    r = run("diff", "x*y", "--points", "-", "--format", "json", input=src)
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert objs[0] == {"x": 1, "y": 2, "tag": "a", "value": 2.0, "d/dx": 2.0, "d/dy": 1.0}
    assert objs[1]["value"] == -0.5
    r = run("diff", "x*y", "--points", "-", "--format", "json", input=rows_csv(3))
    assert [json.loads(x)["x"] for x in r.stdout.splitlines()] == [-1.5, 0.0, 1.5]


def test_rows_in_a_pipeline_are_csv_with_a_header():  # --format auto, not a terminal: plain
    r = run("diff", "x^2", "--points", "-", input="x\n1\n2\n")
    assert r.stdout == "x,value,d/dx\n1,1.0,2.0\n2,4.0,4.0\n"
    assert run("diff", "x^2", "--points", "-", "--format", "plain", input="x\n1\n").stdout == \
        run("diff", "x^2", "--points", "-", "--format", "csv", input="x\n1\n").stdout


def test_at_fixes_variables_without_a_column():
    r = run("diff", "x*y", "--points", "-", "--at", "y=10", "--format", "csv", input="x\n2\n")
    assert r.stdout.splitlines()[1] == "2,20.0,10.0,2.0"


@pytest.mark.parametrize("src, line, col, words", [
    ("x,y\n1,2\n3,oops\n", 3, 3, "'oops' is not a number"),
    ("x,y\n1,2\n1,2,3\n", 3, 1, "expected 2 fields"),
    ("a,b\n1,2\n", 1, 1, "no column for 'x', 'y'"),
    ('{"x": 1, "y": 2}\n{"x": 1, "y": "no"}\n', 2, 10, "is not a number"),
    ('{"x": 1, "y": 2}\n{"x": 1\n', 2, 8, "not JSON"),
])
def test_bad_rows_exit_2_after_the_good_rows(src, line, col, words):
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=src)
    assert r.exit_code == 2
    assert f"<stdin>:{line}:{col}:" in r.stderr and words in r.stderr
    assert "^" in r.stderr and "Traceback" not in r.stderr
    if line > 2 and "no column" not in words:
        assert len(r.stdout.splitlines()) == line - 1  # header and the good rows


def test_domain_errors_give_nan_and_one_warning():
    r = run("diff", "log(x)", "--points", "-", "--format", "csv", input="x\n1\n-1\n2\n-3\n")
    assert r.exit_code == 0
    rows = r.stdout.splitlines()[1:]
    assert rows[1].split(",")[1] == "nan" and rows[3].split(",")[1] == "nan"
    warnings = r.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: 2 rows") and "line 3" in warnings[0]


def test_points_file_argument(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text(rows_csv(10))
    r = run("diff", F, "--points", str(p), "--format", "csv")
    assert len(r.stdout.splitlines()) == 11
    r = run("diff", F, "--points", str(tmp_path / "missing.csv"))
    assert r.exit_code == 2 and "cannot read" in r.stderr


# -- real processes -------------------------------------------------------------------------------
CMD = [sys.executable, "-m", "cgcalc"]


def test_closed_pipe_is_quiet():
    gen = subprocess.Popen([sys.executable, "-c",
                            "import sys\nprint('x,y')\nfor i in range(300000): "
                            "print(f'{i % 7},{i % 5}')"], stdout=subprocess.PIPE)
    cg = subprocess.Popen([*CMD, "diff", "x*y + sin(x)", "--points", "-", "--format", "csv"],
                          stdin=gen.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    gen.stdout.close()
    first = cg.stdout.readline()
    cg.stdout.close()  # like `| head -1`
    _, err = cg.communicate(timeout=60)
    gen.wait(timeout=60)
    assert first.startswith(b"x,y,value")
    assert b"Traceback" not in err and b"Error" not in err, err


def test_first_rows_come_out_before_the_input_ends_and_ctrl_c_is_130():
    cg = subprocess.Popen([*CMD, "diff", "x^2", "--points", "-", "--format", "csv"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cg.stdin.write(b"x\n3\n")
    cg.stdin.flush()
    header = cg.stdout.readline()
    row = cg.stdout.readline()  # arrives while the input is still open
    assert header == b"x,value,d/dx\n" and row == b"3,9.0,6.0\n"
    cg.send_signal(signal.SIGINT)
    _, err = cg.communicate(timeout=30)
    assert cg.returncode == 130
    assert b"Traceback" not in err


def test_rows_ended_by_cr_come_out_before_the_input_ends():
    """A CR ends a row as it arrives: nothing waits for a LF that may follow it (one that
    does, arriving later, ends no other line)."""
    import threading

    cg = subprocess.Popen([*CMD, "diff", "x^2", "--points", "-", "--format", "csv"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(30, cg.kill)  # a reader that waits for more fails, not hangs
    timer.start()
    try:
        cg.stdin.write(b"x\r3\r")
        cg.stdin.flush()
        assert cg.stdout.readline() == b"x,value,d/dx\n"
        assert cg.stdout.readline() == b"3,9.0,6.0\n"  # while the input is still open
        out, err = cg.communicate(b"\n4\r5", timeout=30)
    finally:
        timer.cancel()
    assert cg.returncode == 0, err
    assert out == b"4,16.0,8.0\n5,25.0,10.0\n"


def _peak_rss_kb(rows):
    code = ("import subprocess, sys, resource\n"
            f"gen = subprocess.Popen([sys.executable, '-c', \"print('x,y')\\nfor i in range({rows}): "
            "print(f'{i % 97 / 10},{i % 89 / 10}')\"], stdout=subprocess.PIPE)\n"
            "cg = subprocess.run([sys.executable, '-m', 'cgcalc', 'diff', 'exp(sin(x*y)) + x^2', "
            "'--points', '-', '--format', 'csv'], stdin=gen.stdout, stdout=subprocess.DEVNULL)\n"
            "gen.wait()\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return int(p.stdout.strip())


def test_memory_stays_flat_as_rows_grow():
    small = _peak_rss_kb(50_000)
    large = _peak_rss_kb(1_000_000)
    # 20x the rows; the peak may wobble but must not grow with the row count
    assert large < small * 1.3 + 20_000, (small, large)
