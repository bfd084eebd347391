"""Ctrl-C at any moment exits 130 quietly (no traceback), and the Python API refuses every bad
call with cgcalc.CgcalcError, a ValueError whose message has no ``error: `` prefix.

Signals. The SIGINT cases run real processes. Three ways:

- a trip wire: an import hook sends SIGINT to the process itself at the moment cgcalc (or a
  library it uses) imports a given module, so the signal lands exactly there, every run;
- timed, with the interpreter started without its site hooks (``-S``, the paths given in
  PYTHONPATH), so that 20-60 ms after the start falls in cgcalc's own imports, as on a machine
  without this sandbox's slow site hook (here ``site`` runs a hook for ~100 ms that swallows a
  KeyboardInterrupt, which would lose the signal before cgcalc runs);
- timed, launched normally, after start-up (0.4 s and later).

The one case allowed to end otherwise than with 130 is a signal that lands before the
interpreter has started running cgcalc at all (in its own initialisation or in runpy): the
process then dies of SIGINT or reports the interpreter's start-up failure, and nothing in its
standard error comes from cgcalc's files."""

import json
import math
import os
import re
import signal
import site
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cgcalc

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "examples" / "xor.net"
CMD = [sys.executable, "-m", "cgcalc"]
LONG_TRAIN = ["train", str(XOR), "-q", "--epochs", "100000000", "--format", "plain"]


def quiet_130(rc, err, when):
    """Exit 130 without a traceback; or, for a signal before cgcalc's code ran, the
    interpreter's own ending with nothing of cgcalc's in it."""
    text = err.decode("utf-8", "replace")
    if rc == 130:
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, (when, text[-1500:])
        assert "internal error" not in text, (when, text)
        return
    # (the interpreter names the module it was still looking for, 'cgcalc.__main__': what
    # counts is that no line of cgcalc's own files ran)
    before_cgcalc = rc in (-signal.SIGINT, 1) and not re.search(r'File "[^"]*[/\\]cgcalc[/\\]',
                                                                 text)
    assert before_cgcalc, f"{when}: exit {rc}, stderr:\n{text[-2500:]}"


def started(pid, deadline):
    """Wait until the process has loaded numpy (cgcalc is running, start-up is over), as far as
    /proc tells; a loaded machine may take longer to start than the delay."""
    maps = Path(f"/proc/{pid}/maps")
    while time.monotonic() < deadline:
        try:
            if "numpy" in maps.read_text():
                return
        except OSError:
            return
        time.sleep(0.01)


def interrupted(cmd, delay, env=None, stdin=subprocess.DEVNULL, timeout=20, after_start=False):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env, cwd=ROOT)
    if after_start:
        started(p.pid, start + 10)
    time.sleep(max(0.0, start + delay - time.monotonic()))
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail(f"SIGINT at {delay * 1000:.0f} ms was lost: the run went on")
    return p.returncode, err


# -- trip wires at imports ------------------------------------------------------------------------

TRIP = r"""
import os, sys
TARGET = sys.argv[1]

class Trip:
    def find_spec(self, name, path=None, target=None):
        if name == TARGET:
            sys.meta_path.remove(self)
            os.write(2, b"[tripped]\n")
            os.kill(os.getpid(), 2)
        return None

sys.meta_path.insert(0, Trip())
sys.argv = ["cgcalc"] + sys.argv[2:]
import runpy
runpy.run_module("cgcalc", run_name="__main__", alter_sys=True)
"""

DIFF = ["diff", "x^2", "--at", "x=1", "--format", "plain"]


@pytest.mark.parametrize("module, args", [
    ("cgcalc.errors", DIFF), ("signal", DIFF), ("cgcalc.cli", DIFF), ("click", DIFF),
    ("cgcalc.commands", DIFF), ("numpy", ["train", str(XOR), "-q", "--epochs", "1"]),
    ("lark", ["diff", "x + * 2", "--format", "plain"]),
    ("rich", ["diff", "x^2", "--at", "x=1", "--format", "rich"]),
])
def test_ctrl_c_while_a_module_is_imported(module, args):
    """``python -m cgcalc`` with SIGINT sent the moment ``module`` is first imported."""
    p = subprocess.run([sys.executable, "-c", TRIP, module, *args], capture_output=True,
                       timeout=60, cwd=ROOT)
    if b"[tripped]" not in p.stderr:
        assert p.returncode in (0, 2), p.stderr
        pytest.skip(f"{module} is not imported on this path")
    rest = p.stderr.replace(b"[tripped]\n", b"")
    quiet_130(p.returncode, rest, f"SIGINT while importing {module}")
    assert p.returncode == 130, (p.returncode, rest)
    assert p.stdout == b""


# -- timed ----------------------------------------------------------------------------------------

def no_site_env():
    paths = [str(ROOT), *site.getsitepackages()]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def test_ctrl_c_early_during_imports():
    """SIGINT 20, 22, ..., 60 ms after the start: every run ends quietly."""
    broken = []
    for ms in range(20, 62, 2):
        rc, err = interrupted([sys.executable, "-S", "-m", "cgcalc", *LONG_TRAIN], ms / 1000,
                              env=no_site_env())
        try:
            quiet_130(rc, err, f"SIGINT {ms} ms after the start")
        except AssertionError as e:
            broken.append(str(e).splitlines()[0] + "\n" + err.decode("utf-8", "replace")[-700:])
    assert not broken, f"{len(broken)} of 21 runs broke the promise; the first:\n{broken[0]}"


@pytest.mark.parametrize("ms", [400, 1000])
def test_ctrl_c_after_start_up(ms):
    rc, err = interrupted([*CMD, *LONG_TRAIN], ms / 1000, after_start=True)
    assert rc == 130, (rc, err[-1500:])
    quiet_130(rc, err, f"SIGINT {ms} ms after the start")


def test_ctrl_c_while_waiting_on_a_pipe():
    p = subprocess.Popen([*CMD, "diff", "x*y", "--points", "-", "--format", "csv"], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"x,y\n1,2\n")
    p.stdin.flush()
    assert p.stdout.readline() == b"x,y,value,d/dx,d/dy\n"
    assert p.stdout.readline() == b"1,2,2.0,2.0,1.0\n"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=20)
    p.stdin.close()
    assert p.returncode == 130
    quiet_130(p.returncode, err, "SIGINT waiting for rows")


def test_ctrl_c_during_training_saves_the_params_reached(tmp_path):
    save = tmp_path / "p.json"
    rc, err = interrupted([*CMD, *LONG_TRAIN, "--save", str(save)], 1.2, after_start=True)
    assert rc == 130, (rc, err[-1500:])
    assert "Traceback" not in err.decode() and "internal error" not in err.decode()
    doc = json.loads(save.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert np.array(doc["theta1"]).shape == (3, 2) and np.array(doc["theta2"]).shape == (3, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


# -- the Python API -------------------------------------------------------------------------------

F = cgcalc.function("x*y")


def refused(call):
    with pytest.raises(cgcalc.CgcalcError) as info:
        call()
    e = info.value
    assert isinstance(e, ValueError)
    assert not str(e).startswith("error"), str(e)
    assert str(e).strip(), "an empty message"
    return str(e)


def test_the_error_is_a_value_error():
    assert issubclass(cgcalc.CgcalcError, ValueError)
    assert issubclass(cgcalc.EvaluationError, cgcalc.CgcalcError)


@pytest.mark.parametrize("text", [None, b"x^2", 3, 2.5, ["x"], ("x",), {"x": 1}, bytearray(b"x"),
                                  object()])
def test_a_program_that_is_not_text(text):
    refused(lambda: cgcalc.function(text))


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", "x +", "sin(", "x\x00+1",
                                  "x @ y", "x*1e400", f"x*{2 ** 1024 - 1}", "pi = 3; pi*x",
                                  "sin = 2; x", "foo(x)", "1/0"],
                         ids=lambda t: t if len(t) < 20 else t[:8] + "..")
def test_programs_that_do_not_parse_or_mean_nothing(text):
    msg = refused(lambda: cgcalc.function(text).grad(x=1.0))
    assert "Traceback" not in msg


def test_the_message_is_the_command_lines_without_the_prefix():
    from click.testing import CliRunner

    from cgcalc.cli import main

    msg = refused(lambda: cgcalc.function("x + * 2"))
    r = CliRunner().invoke(main, ["diff", "x + * 2", "--format", "plain"])
    assert r.stderr.startswith("error: ")
    cli = r.stderr[len("error: "):].rstrip("\n")
    assert cli.splitlines()[0].split(": ", 1)[1] == msg.splitlines()[0].split(": ", 1)[1]
    assert cli.splitlines()[1:] == msg.splitlines()[1:]


@pytest.mark.parametrize("call", [
    lambda: F.value(x=1),                                     # y missing
    lambda: F.value(x=1, y=1, z=2),                           # an unknown name
    lambda: F.grad(x=1, y=1, wrt="z"),
    lambda: F.grad(x=1, y=1, wrt=["x", "z"]),
    lambda: F.grad(x=1, y=1, wrt=[None]),
    lambda: F.grad(x=1, y=1, wrt=5),
    lambda: F.value_and_grad(x=1, y=1, wrt=["z"]),
    lambda: F.value_and_grad(x=1, y=1, wrt="q"),
    lambda: cgcalc.function("xy*x").grad(x=1, xy=1, wrt="xyz"),
    lambda: F.value(1, 2, 3),                                 # three values for two variables
    lambda: F.value(1, x=2, y=3),                             # x twice
    lambda: F.value(x=np.ones(3), y=np.ones(4)),              # shapes that do not broadcast
    lambda: F.grad(x=np.ones((2, 3)), y=np.ones((3, 2))),
    lambda: F.value(x=[[1, 2], [3]], y=1),                    # ragged
    lambda: F.value(x=[[1, [2]]], y=1),
    lambda: F.value(x=1 + 2j, y=1),                           # complex
    lambda: F.value(x=np.array([1 + 2j]), y=1),
    lambda: F.grad(x=np.complex128(1), y=1),
    lambda: F.value(x="abc", y=1),                            # strings
    lambda: F.value(x="2", y=1),
    lambda: F.value(x=b"2", y=1),
    lambda: F.value(x=["1", "2"], y=1),
    lambda: F.value(x=None, y=1),
    lambda: F.value(x={"a": 1}, y=1),
    lambda: F.value(x=np.array([1, None]), y=1),
    lambda: F.value(x=10 ** 400, y=1),
    lambda: F.value(x=[10 ** 400], y=1),
    lambda: F.value(x=np.array(["2020-01-01"], dtype="datetime64[D]"), y=1),
])
def test_bad_calls_raise_cgcalc_errors(call):
    refused(call)


def test_good_calls_still_work():
    assert F.value(x=2.0, y=3.0) == 6.0
    assert F.grad(x=np.arange(3.0), y=2.0)["x"].tolist() == [2.0, 2.0, 2.0]
    value, grad = F.value_and_grad(x=2, y=3, wrt="x")
    assert value == 6.0 and grad == {"x": 3.0}
    assert F.value(2, 3) == 6.0 and F.variables == ("x", "y")
    g = cgcalc.function("(" * 20000 + "x^2" + ")" * 20000).grad(x=3.0)
    assert g == {"x": 6.0}
    assert math.isclose(cgcalc.function("exp(sin(x^2))").grad(x=1.0)["x"], 2.506761534986894,
                        rel_tol=1e-14)


STORM_CHILD = r"""
import signal, sys, threading, time
import numpy as np
import cgcalc
f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2) + tanh(x)^3 / (1 + y^2)")
rng = np.random.default_rng(0)
x, y = rng.uniform(-2, 2, 300_000), rng.uniform(-2, 2, 300_000)
want = f.grad(x=x, y=y)
armed = [False]
def interrupt(signum, frame):
    if armed[0]:
        raise KeyboardInterrupt
signal.signal(signal.SIGINT, interrupt)
print("ready", flush=True)
caught = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        armed[0] = True
        f.grad(x=x, y=y)
        armed[0] = False
    except KeyboardInterrupt:
        armed[0] = False
        caught += 1
armed[0] = False
got = f.grad(x=x, y=y)
same = all(np.array_equal(got[k], want[k]) for k in want)
print("caught", caught, "same", same, "threads", threading.active_count(), flush=True)
"""


@pytest.mark.parametrize("every", [0.001])
def test_ctrl_c_after_ctrl_c_leaves_the_api_working(every):
    """A caller that catches KeyboardInterrupt goes on calling f.grad while SIGINT comes every
    few milliseconds: the threads that share blocks of points (one pool for the process) are
    never left stuck, and the numbers after are the same. A pool whose Python-level locks a
    Ctrl-C can interrupt halfway hung here within seconds."""
    p = subprocess.Popen([sys.executable, "-c", STORM_CHILD, "8"], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        start = time.time()
        while time.time() - start < 7.5 and p.poll() is None:
            p.send_signal(signal.SIGINT)
            time.sleep(every)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    words = out.split()
    assert p.returncode == 0 and words[0] == "caught" and int(words[1]) > 0
    assert words[2:4] == ["same", "True"], out
    assert int(words[5]) <= 8, out  # the main thread and the pool's, no more
