"""Hostile sizes: memory stays bounded whatever the input. A param whose declared shape is
consistent but enormous is refused at its declaration before anything is allocated; a data
file, a --points stream, a params file or a program that never ends (``/dev/zero``, a pipe
without newlines) is refused quickly, in bounded memory, with exit 2. The sizes are limits a
user can raise (--max-entries).

Each case runs in a real process under a wrapper that reports the child's peak resident memory
(resource.getrusage(RUSAGE_CHILDREN)) and limits its address space to 3 GB, so that a
regression fails here instead of taking the machine."""

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgcalc.cli import main
from test_net import residual_net

ROOT = Path(__file__).resolve().parents[1]
XOR = (ROOT / "examples" / "xor.net").read_text()
LINE = (ROOT / "examples" / "line.net").read_text()
XOR_PARAMS = {"theta1": [[5.87, -7.54], [5.88, -7.62], [-9.08, 3.17]],
              "theta2": [[-13.88], [-13.62], [6.76]]}
PEAK_MB = 300   # a run of cgcalc with numpy is ~60 MB; the inputs here are gigabytes or endless
SECONDS = 15    # "quickly": a refusal must not wait for the end of an endless input
PLACE = re.compile(r"error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")

WRAPPER = r"""
import json, resource, subprocess, sys, time
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
stdin = open(sys.argv[2], "rb") if sys.argv[2] != "-" else None
start = time.monotonic()
p = subprocess.run(sys.argv[3:], stdin=stdin, capture_output=True, preexec_fn=limit,
                   timeout=float(sys.argv[1]))
print(json.dumps({"rc": p.returncode, "seconds": time.monotonic() - start,
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "stderr": p.stderr.decode("utf-8", "replace")[-3000:],
                  "stdout": p.stdout[:2000].decode("utf-8", "replace")}))
"""


def measured(args, cwd, stdin="-", feed=None, timeout=60):
    """cgcalc ``args`` under the wrapper: {rc, seconds, peak_kb, stderr, stdout}. ``stdin`` a
    path to read from, or with ``feed`` a generator of chunks written into a pipe."""
    cmd = [sys.executable, "-S", "-c", WRAPPER, str(timeout), stdin,
           sys.executable, "-m", "cgcalc", *map(str, args)]
    if feed is None:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout + 30)
        out = p.stdout
    else:
        # the wrapper's child inherits this pipe as its standard input
        p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)  # the child inherits the pipe
        stop = threading.Event()
        # the writer's alone: communicate() would flush it from this thread meanwhile (a race
        # in the buffered writer: "PyMemoryView_FromBuffer(): info->buf must not be NULL")
        stdin, p.stdin = p.stdin, None

        def write():
            try:
                for chunk in feed():
                    if stop.is_set():
                        break
                    stdin.write(chunk)
            except (BrokenPipeError, OSError, ValueError):
                pass
            finally:
                try:
                    stdin.close()
                except OSError:
                    pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        out, _ = p.communicate(timeout=timeout + 30)
        stop.set()
        writer.join(10)
        out = out.decode()
    assert out.strip(), f"the wrapper failed: {p.stderr!r}"
    return json.loads(out.strip().splitlines()[-1])


def refused_in_bounds(res, *, names=None, place=None):
    err = res["stderr"]
    assert res["rc"] == 2, f"exit {res['rc']} after {res['seconds']:.1f} s: {err[-600:]!r}"
    assert err.startswith("error:"), err[:400]
    assert "Traceback" not in err and "internal error" not in err, err[-600:]
    assert res["peak_kb"] < PEAK_MB * 1024, f"peak {res['peak_kb'] // 1024} MB"
    assert res["seconds"] < SECONDS, f"{res['seconds']:.1f} s to refuse"
    if names is not None:
        assert names in err.splitlines()[0], err[:400]
    if place is not None:
        m = PLACE.match(err)
        assert m, err[:400]
        assert (m["file"].rsplit("/", 1)[-1], int(m["line"])) == place, err[:400]
        assert "^" in err


@pytest.fixture
def work(tmp_path):
    for name in ("xor.net", "line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    return tmp_path


HUGE = (XOR.replace("theta1[3, 2]", "theta1[3, 1000000000]")
        .replace("theta2[3, 1]", "theta2[1000000001, 1]"))


@pytest.mark.parametrize("args", [["train", "huge.net", "-q", "--format", "plain"],
                                  ["diff", "huge.net", "--format", "plain"],
                                  ["check", "huge.net", "--format", "plain"],
                                  ["graph", "huge.net", "--format", "dot"]])
def test_an_enormous_param_is_refused_at_its_declaration(args, work):
    (work / "huge.net").write_text(HUGE)
    refused_in_bounds(measured(args, work), place=("huge.net", 5))


@pytest.mark.parametrize("old, new, line", [
    ("theta1[3, 2]", "theta1[3, " + "1" + "0" * 30 + "]", 5),
    ("theta2[3, 1] ~ uniform(-1, 1)",
     "theta2[3, 1] ~ uniform(-1, 1)\nparam  big[100000, 100000]", 7),
])
def test_other_enormous_shapes(old, new, line, work):
    text = XOR.replace(old, new)
    if "big[" in new:
        text = text.replace("C  = cross_entropy(L3, y)", "C  = cross_entropy(L3, y) + 0*sum(big)")
    (work / "t.net").write_text(text)
    refused_in_bounds(measured(["train", "t.net", "-q", "--format", "plain"], work),
                      place=("t.net", line))


def test_the_predict_params_of_an_enormous_network(work):
    (work / "huge.net").write_text(HUGE)
    refused_in_bounds(measured(["predict", "huge.net", "--params", "p.json"], work))


def test_a_data_file_that_never_ends(work):
    (work / "z.net").write_text(LINE.replace('"line.csv"', '"/dev/zero"'))
    refused_in_bounds(measured(["train", "z.net", "-q", "--format", "plain"], work))


@pytest.mark.parametrize("args", [
    ["diff", "x^2", "--points", "/dev/zero", "--format", "csv"],
    ["predict", "xor.net", "--params", "p.json", "--points", "/dev/zero", "--format", "csv"],
    ["diff", "xor.net", "--points", "/dev/zero", "--format", "plain"],
    ["predict", "xor.net", "--params", "/dev/zero", "--format", "csv"],
])
def test_points_and_params_that_never_end(args, work):
    refused_in_bounds(measured(args, work), names="/dev/zero")


def test_a_program_on_a_standard_input_that_never_ends(work):
    refused_in_bounds(measured(["diff", "-", "--format", "plain"], work, stdin="/dev/zero"))


def endless(chunk):
    def chunks():
        while True:
            yield chunk
    return chunks


@pytest.mark.parametrize("first, chunk", [(b"x\n", b"1" * 65536),
                                          (b'{"x": ', b"1" * 65536),
                                          (b"x,note\n1,\"", b"a" * 65536)],
                         ids=["csv", "jsonl", "open-quote"])
def test_a_points_stream_without_newlines(first, chunk, work):
    def feed():
        yield first
        yield from endless(chunk)()
    res = measured(["diff", "x^2", "--points", "-", "--format", "csv"], work, feed=feed)
    refused_in_bounds(res, names="<stdin>")


def test_a_stream_of_short_rows_still_flows(work):
    """The line limit is per row: many rows are not too much."""
    def feed():
        yield b"x\n"
        for _ in range(40):
            yield b"1\n" * 50000
    res = measured(["diff", "x^2", "--points", "-", "--format", "csv"], work, feed=feed)
    assert res["rc"] == 0, res["stderr"]
    assert res["peak_kb"] < PEAK_MB * 1024


def test_the_entries_limit_is_the_users_to_raise(tmp_path, monkeypatch):
    """(In this process the option's value outlives a run: each step starts afresh.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("cgcalc.limits._override", {})
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    runner = CliRunner()
    r = runner.invoke(main, ["train", "xor.net", "-q", "--epochs", "2", "--max-entries", "4"],
                      catch_exceptions=False)
    assert r.exit_code == 2 and r.stderr.startswith("error:"), r.stderr
    assert "limit" in r.stderr and "--max-entries" in r.stderr
    r = runner.invoke(main, ["train", "xor.net", "-q", "--epochs", "2", "--max-entries", "1000"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    monkeypatch.setattr("cgcalc.limits._override", {})
    monkeypatch.setenv("CGCALC_MAX_ENTRIES", "4")
    r = runner.invoke(main, ["train", "xor.net", "-q", "--epochs", "2"], catch_exceptions=False)
    assert r.exit_code == 2 and "limit" in r.stderr, r.stderr


def test_refusal_comes_before_the_end_of_a_slow_endless_stream(work):
    """A line too long is refused when it passes the limit, not when the input ends."""
    def feed():
        yield b"x\n"
        while True:
            yield b"2" * (1 << 20)
            time.sleep(0.01)
    res = measured(["diff", "x^2", "--points", "-", "--format", "csv"], work, feed=feed,
                   timeout=30)
    refused_in_bounds(res, names="<stdin>")


# -- asking for more than can be shown: bounded all the same ----------------------------------

def _diamond(k):
    """a1 = a0 + a0, ..., ak: 2^k paths from ak down to x, each k + 1 nodes long."""
    return "a0 = x\n" + "".join(f"a{i} = a{i - 1} + a{i - 1}\n" for i in range(1, k + 1))


@pytest.mark.parametrize("name, text", [
    ("diamond.txt", _diamond(40)),  # 2^40 paths
    ("sum.txt", " + ".join(f"x{i}" for i in range(3000)) + "\n"),  # 3,000 paths of 3,000
    ("deep.net", residual_net(70)),  # 2^70 paths of ~140 nodes, 71 params
], ids=["diamond", "sum", "deep-net"])
@pytest.mark.parametrize("fmt", ["json", "rich", "latex"])
def test_any_number_of_paths_asked_for_lists_a_bounded_number(name, text, fmt, work):
    """--max-paths 10^9: the paths listed (and the work of finding them) stay within the bound
    for all variables together, however many are asked for; the counts stay exact."""
    from cgcalc import derive

    (work / name).write_text(text)
    res = measured(["diff", name, "--max-paths", 10**9, "--format", fmt], work, timeout=60)
    assert res["rc"] == 0, res["stderr"][-600:]
    assert res["peak_kb"] < PEAK_MB * 1024, f"peak {res['peak_kb'] // 1024} MB"
    if fmt == "json":  # the listing itself, read back in process (the wrapper keeps 2,000 bytes)
        r = CliRunner().invoke(main, ["diff", str(work / name), "--max-paths", str(10**9),
                                      "--format", "json"])
        doc = json.loads(r.output)
        size = len(doc["nodes"])
        listed = sum(len(q["nodes"]) for p in doc["paths"].values() for q in p["listed"])
        bound = max(derive.PATH_NODES, (derive.PATH_TIMES + 4) * size)
        assert 0 < listed <= bound * 5 // 4
        assert all(len(p["listed"]) <= p["count"] for p in doc["paths"].values())


@pytest.mark.parametrize("variables, order_n, refused", [(30, 8, True), (30, 3, False),
                                                          (200, 2, True), (2, 8, False)])
@pytest.mark.parametrize("how", [[], ["--format", "json"], ["--points", "pts.csv"]])
def test_derivatives_of_high_order_in_many_variables_are_counted_before_any_is_made(
        variables, order_n, refused, how, work):
    """--order N in V variables asks for C(V + N - 1, N) derivatives: past a bound (38 million
    for --order 8 in 30 variables) the run is refused at once, in bounded memory, naming the
    count, and --wrt is offered; below it they are all given."""
    import math

    names = [f"x{i}" for i in range(variables)]
    (work / "f.txt").write_text("*".join(f"sin({v})" for v in names) + "\n")
    (work / "pts.csv").write_text(",".join(names) + "\n" + ",".join(["0.5"] * variables) + "\n")
    at = ["--at", ",".join(f"{v}=0.5" for v in names)] if "--points" not in how else []
    res = measured(["diff", "f.txt", "--order", order_n, *at, *how], work, timeout=60)
    count = math.comb(variables + order_n - 1, order_n)
    if refused:
        refused_in_bounds(res, names=f"--order {order_n} in {variables:,} variables is "
                                     f"{count:,} derivatives")
        assert "--wrt" in res["stderr"]
    else:
        assert res["rc"] == 0, res["stderr"][-600:]


@pytest.mark.parametrize("args", [["diff", "w.txt", "--format", "plain"],
                                  ["diff", "w.txt", "--format", "json"],
                                  ["graph", "w.txt", "--format", "dot"],
                                  ["export", "w.txt", "--to", "numpy"]])
def test_first_derivatives_in_more_variables_than_the_order_bound_are_given(args, work):
    """The bound on --order counts higher derivatives only: first derivatives are one per
    variable, 10,001 of them here, and every command gives them."""
    (work / "w.txt").write_text(" + ".join(f"x{i}" for i in range(10_001)) + "\n")
    r = CliRunner().invoke(main, [args[0], str(work / args[1]), *args[2:]])
    assert r.exit_code == 0, r.output[-600:]
    assert "x10000" in r.output


@pytest.mark.parametrize("text, value", [("1000", 1000), (" 1_000 ", 1000), ("7", 7),
                                         ("١٠", None), ("1e3", None), ("abc", None),
                                         ("_100", None), ("-5", None), ("0", None),
                                         ("１０", None), ("10.0", None)])
def test_a_limit_in_the_environment_is_digits_0_to_9(text, value, monkeypatch):
    """A limit's environment variable is read as cgcalc reads whole numbers everywhere: ASCII
    digits (underscores between them), at least 1; other scripts' digits (int() takes ١٠ for
    10), a sign, an exponent are refused with a message naming the variable."""
    from cgcalc import limits
    from cgcalc.errors import CgcalcError

    monkeypatch.setattr(limits, "_override", {})
    monkeypatch.setenv("CGCALC_MAX_ENTRIES", text)
    if value is not None:
        assert limits.limit("CGCALC_MAX_ENTRIES") == value
        return
    with pytest.raises(CgcalcError, match="CGCALC_MAX_ENTRIES"):
        limits.limit("CGCALC_MAX_ENTRIES")


@pytest.mark.parametrize("command", [["train", "-q", "--epochs", "2"], ["diff"], ["check"]])
def test_running_out_of_memory_is_said_as_such(command, monkeypatch):
    """The limits bound each array, not all a run holds at once: a MemoryError (numpy's
    "Unable to allocate") was an internal error; it is "out of memory", exit 1, with a hint."""
    from cgcalc.net.model import Network

    def no_memory(*args, **kw):
        raise MemoryError("Unable to allocate 305. MiB for an array")

    monkeypatch.setattr(Network, "__init__", no_memory)  # (every command reads the network)
    monkeypatch.setattr("cgcalc.limits._override", {})
    net = ROOT / "examples" / "first.net"
    r = CliRunner().invoke(main, [command[0], str(net), *command[1:]])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: out of memory (Unable to allocate 305. MiB"), r.stderr
    assert "internal error" not in r.stderr and "hint:" in r.stderr
