"""Hostile files: nothing a user gave is lost or damaged. ``train --save``, ``graph -o`` and
``export -o`` follow a symbolic link (the link stays, its target gets the content), write a
named pipe or a device in place (never replace it), write one of the process's own streams
(``/dev/stdout``, ``/proc/self/fd/1``, ``/dev/fd/5``) through that stream as the shell opened it,
refuse a missing directory, a directory or a name of one (``out/``), the network file, its data
file and (graph -o) the params it reads (exit 2, nothing created or changed; train --save onto
its own --params is training on in place), and refuse all of that before the work starts; they
keep an existing file's permissions and owner, give a new file the umask's mode, leave no
temporary file behind (not even on Ctrl-C), and keep the old file whole when the write fails.
Output that cannot be written (a full disk, a closed standard output) is exit 2 with
``error:``; a --save that fails at the end still shows the training's result."""

import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]
CMD = [sys.executable, "-m", "cgcalc"]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and chown need root")

TRAIN = ["train", "xor.net", "-q", "--epochs", "5", "--format", "plain", "--save"]
GRAPH_TREE = ["graph", "x^2", "-o"]
GRAPH_DOT = ["graph", "x^2", "--format", "dot", "-o"]
EXPORT = ["export", "x^2", "-o"]
WRITERS = {"save": TRAIN, "graph-tree": GRAPH_TREE, "graph-dot": GRAPH_DOT, "export": EXPORT}


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("xor.net", "line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    return tmp_path


def listing(d):
    return sorted(p.name for p in Path(d).iterdir())


def written_right(kind, data):
    """What a writer of ``kind`` writes: params JSON, or a picture of x^2."""
    text = data.decode("utf-8")
    if kind == "save":
        doc = json.loads(text)
        assert set(doc) == {"theta1", "theta2"} and len(doc["theta1"]) == 3, text[:200]
    elif kind == "graph-dot":
        assert text.startswith("digraph"), text[:200]
    elif kind == "export":
        assert text.startswith('"""x^2: ') and "def grad(" in text, text[:200]
    else:
        assert "x" in text and len(text) > 10, text[:200]


def refused(r, path=None):
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.stderr[:300]!r}"
    assert r.stderr.startswith("error:"), r.stderr[:300]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[:500]
    if path is not None:
        assert path in r.stderr.splitlines()[0], f"the message does not name {path}: {r.stderr}"


# -- links ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_stays_and_its_target_gets_the_content(kind, dangling, work):
    if not dangling:
        (work / "target.out").write_text("the user's old content\n")
    os.symlink("target.out", work / "link.out")
    before = set(listing(work))
    r = run(*WRITERS[kind], "link.out")
    assert r.exit_code == 0, r.stderr
    assert os.path.islink(work / "link.out") and os.readlink(work / "link.out") == "target.out"
    written_right(kind, (work / "target.out").read_bytes())
    assert set(listing(work)) == before | {"target.out"}, "a file left behind"


def test_a_symlink_into_another_directory(work):
    (work / "elsewhere").mkdir()
    os.symlink("elsewhere/p.json", work / "p.json")
    r = run(*TRAIN, "p.json")
    assert r.exit_code == 0, r.stderr
    assert os.path.islink(work / "p.json")
    written_right("save", (work / "elsewhere" / "p.json").read_bytes())
    assert listing(work / "elsewhere") == ["p.json"]


# -- named pipes and devices ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_named_pipe_is_written_in_place(kind, work):
    fifo = work / "pipe.out"
    os.mkfifo(fifo)
    got = []

    def read():
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        r = run(*WRITERS[kind], "pipe.out")
    finally:
        reader.join(5)  # the writer has closed the pipe: the reader ends with what it read
        if reader.is_alive():  # nobody wrote: let the reader go
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # it let go between the two lines (ENXIO: no reader now)
                pass
            reader.join(10)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the named pipe was replaced"
    written_right(kind, got[0])
    assert listing(work) == ["line.csv", "line.net", "pipe.out", "xor.net"]


@root_only
@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("device, status", [((1, 3), 0), ((1, 7), 2)])  # null, full
def test_a_device_is_written_in_place_never_replaced(kind, device, status, work):
    dev = work / "dev.out"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(*device))
    r = run(*WRITERS[kind], "dev.out")
    st = os.lstat(dev)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(*device), \
        f"the device was replaced (now {stat.filemode(st.st_mode)})"
    if status == 0:
        assert r.exit_code == 0, r.stderr
    else:  # no space left on the device: exit 2, naming the file
        refused(r, "dev.out")
    assert listing(work) == ["dev.out", "line.csv", "line.net", "xor.net"]


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("target", ["nodir/out.txt", "nodir/deeper/out.txt", "xor.net/out.txt"])
def test_a_missing_directory_is_refused_and_nothing_is_created(kind, target, work):
    before = listing(work)
    r = run(*WRITERS[kind], target)
    refused(r, target)
    assert listing(work) == before
    assert (work / "xor.net").is_file()


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_directory_is_refused_and_left_alone(kind, work):
    (work / "adir").mkdir()
    (work / "adir" / "keep.txt").write_text("keep\n")
    r = run(*WRITERS[kind], "adir")
    refused(r, "adir")
    assert listing(work / "adir") == ["keep.txt"]


def test_an_empty_save_name_is_refused(work):
    before = listing(work)
    refused(run(*TRAIN, ""))
    assert listing(work) == before


def _net_inputs(work):
    os.symlink("xor.net", work / "link-to-net.json")
    return ["xor.net", "./xor.net", str(work / "xor.net"), "link-to-net.json"]


@pytest.mark.parametrize("which", range(4))
def test_save_onto_the_network_file_is_refused(which, work):
    target = _net_inputs(work)[which]
    before = (work / "xor.net").read_bytes()
    refused(run(*TRAIN, target))
    assert (work / "xor.net").read_bytes() == before
    assert os.path.islink(work / "link-to-net.json")


@pytest.mark.parametrize("target", ["line.csv", "./line.csv", "link.json"])
def test_save_onto_the_data_file_is_refused(target, work):
    os.symlink("line.csv", work / "link.json")
    before = (work / "line.csv").read_bytes()
    r = run("train", "line.net", "-q", "--epochs", "3", "--format", "plain", "--save", target)
    refused(r)
    assert (work / "line.csv").read_bytes() == before


@pytest.mark.parametrize("fmt", ["tree", "dot", "mermaid"])
def test_graph_onto_its_own_program_file_is_refused(fmt, work):
    (work / "f.cg").write_text("v = x^2\nf = sin(v)\n")
    before = (work / "f.cg").read_bytes()
    r = run("graph", "f.cg", "--format", fmt, "-o", "f.cg")
    refused(r)
    assert (work / "f.cg").read_bytes() == before


def test_graph_onto_its_own_network_file_is_refused(work):
    before = (work / "xor.net").read_bytes()
    refused(run("graph", "xor.net", "--format", "dot", "-o", "xor.net"))
    assert (work / "xor.net").read_bytes() == before


PARAMS_READERS = {f"graph-{fmt}": ["graph", "xor.net", "--format", fmt, "-o"]
                  for fmt in ("tree", "dot", "mermaid")}


@pytest.mark.parametrize("kind", list(PARAMS_READERS))
@pytest.mark.parametrize("given, target", [("p.json", "p.json"), ("p.json", "./p.json"),
                                           ("./p.json", "ABS"), ("link.json", "p.json"),
                                           ("p.json", "link.json")])
def test_an_output_onto_the_params_it_reads_is_refused(kind, given, target, work):
    """--params is an input like the network file: no command writes over the params it
    reads, however either path is spelt."""
    assert run(*TRAIN, "p.json").exit_code == 0
    os.symlink("p.json", work / "link.json")
    before = (work / "p.json").read_bytes()
    target = str(work / "p.json") if target == "ABS" else target
    r = run(*PARAMS_READERS[kind], target, "--params", given)
    refused(r, target)
    assert "would replace" in r.stderr, r.stderr
    assert (work / "p.json").read_bytes() == before
    assert os.path.islink(work / "link.json")


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
@pytest.mark.parametrize("target", ["line.csv", "./line.csv", "ABS", "link.csv", "line.net",
                                    "f.cg"])
def test_export_onto_what_it_reads_is_refused(backend, target, work):
    """export -o refuses the network file, the data file it names and the program file, as
    train --save and graph -o do."""
    os.symlink("line.csv", work / "link.csv")
    (work / "f.cg").write_text("v = x^2\nf = sin(v)\n")
    source = "f.cg" if target == "f.cg" else "line.net"
    target = str(work / "line.csv") if target == "ABS" else target
    before = {name: (work / name).read_bytes() for name in ("line.csv", "line.net", "f.cg")}
    r = run("export", source, "--to", backend, "-o", target)
    refused(r, target)
    assert "would replace" in r.stderr, r.stderr
    assert {name: (work / name).read_bytes() for name in before} == before
    assert os.path.islink(work / "link.csv")


NUL_RUNS = {
    "train": ["train", "nul.net", "-q", "--epochs", "3", "--format", "plain"],
    "diff": ["diff", "nul.net", "--format", "plain"],
    "check": ["check", "nul.net", "--format", "plain"],
    "graph": ["graph", "nul.net"],
    "predict": ["predict", "nul.net", "--params", "p.json", "--format", "csv"],
    "export": ["export", "nul.net"],
}


@pytest.mark.parametrize("command", list(NUL_RUNS))
@pytest.mark.parametrize("name", ["l\0ine.csv", "\0", "line.csv\0", "\0\0"])
def test_a_data_file_name_with_a_nul_byte_is_refused_at_its_place(command, name, work):
    """No file name holds a NUL byte: every command refuses such a data string where the
    network file writes it (line 13, column 6), before anything is read or written."""
    assert run("train", "line.net", "-q", "--epochs", "3", "--format", "plain",
               "--save", "p.json").exit_code == 0
    text = (work / "line.net").read_text().replace('"line.csv"', f'"{name}"')
    (work / "nul.net").write_text(text)
    before = listing(work)
    r = run(*NUL_RUNS[command])
    refused(r)
    assert r.stderr.startswith("error: nul.net:13:6: ") and "NUL" in r.stderr, r.stderr
    assert r.stdout == ""
    assert listing(work) == before


@pytest.mark.parametrize("args", [["diff", "x^2", "--points"], ["diff", "xor.net", "--points"],
                                  ["predict", "xor.net", "--params", "p.json", "--points"]])
def test_a_points_name_with_a_nul_byte_is_refused(args, work):
    """The same for a name handed over in the process (a command line cannot hold one)."""
    (work / "p.json").write_text('{"theta1": [[0, 0], [0, 0], [0, 0]], '
                                 '"theta2": [[0], [0], [0]]}')
    r = run(*args, "p\0ts.csv")
    refused(r)
    assert "NUL" in r.stderr, r.stderr


@pytest.mark.parametrize("given", ["p.json", "link.json"])
def test_training_on_from_params_saves_them_in_their_place(given, work):
    """train --params p.json --save p.json is training on: the params are read before the new
    ones are written (whole, through a temporary file), a link keeps pointing at them."""
    assert run(*TRAIN, "p.json").exit_code == 0
    os.symlink("p.json", work / "link.json")
    before = json.loads((work / "p.json").read_text())
    r = run("train", "xor.net", "-q", "--epochs", "50", "--format", "json", "--params", given,
            "--save", given)
    assert r.exit_code == 0, r.stderr
    after = json.loads((work / "p.json").read_text())
    assert after.keys() == before.keys() and after != before
    assert os.path.islink(work / "link.json")


def test_a_graph_that_fails_leaves_the_old_file(work):
    (work / "old.txt").write_text("the user's file\n")
    refused(run("graph", "x + * 2", "-o", "old.txt"))
    assert (work / "old.txt").read_text() == "the user's file\n"


def test_training_that_diverges_keeps_the_old_params(work):
    (work / "old.json").write_text('{"a": [[2.0]], "b": [[1.0]]}\n')
    r = run("train", "line.net", "-q", "--epochs", "50", "--rate", "1e10", "--format", "plain",
            "--save", "old.json")
    assert r.exit_code == 1 and r.stderr.startswith("error: training diverged"), r.stderr
    assert (work / "old.json").read_text() == '{"a": [[2.0]], "b": [[1.0]]}\n'
    assert listing(work) == ["line.csv", "line.net", "old.json", "xor.net"]


@pytest.mark.skipif(shutil.which("dot") is not None, reason="only without Graphviz")
def test_without_graphviz_a_users_dot_file_beside_is_not_overwritten(work):
    (work / "pic.dot").write_text("digraph users_own { a -> b }\n")
    r = run("graph", "x^2", "--format", "svg", "-o", "pic.svg")
    refused(r)
    assert (work / "pic.dot").read_text() == "digraph users_own { a -> b }\n"
    assert not (work / "pic.svg").exists()


# -- standard input read once ---------------------------------------------------------------------

TWICE = [
    (["diff", "-", "--points", "-"], "x*y", ["EXPR|FILE", "--points"]),
    (["diff", "xor.net", "--points", "-", "--params", "-"], "0 1 -> 1\n",
     ["--points", "--params"]),
    (["diff", "-", "--params", "-"], "XOR", ["EXPR|FILE", "--params"]),
    (["predict", "xor.net", "--params", "-", "--points", "-"], "PARAMS",
     ["--params", "--points"]),
    (["predict", "-", "--params", "-"], "XOR", ["FILE.net", "--params"]),
    (["predict", "-", "--params", "p.json", "--points", "-"], "XOR", ["FILE.net", "--points"]),
    (["predict", "-", "--params", "-", "--points", "-"], "XOR",
     ["FILE.net", "--params", "--points"]),
    (["train", "-", "--params", "-", "-q"], "XOR", ["FILE.net", "--params"]),
    (["check", "-", "--params", "-"], "XOR", ["FILE.net|EXPR", "--params"]),
    (["graph", "-", "--params", "-"], "XOR", ["EXPR|FILE", "--params"]),
]


@pytest.mark.parametrize("args, given, names", TWICE, ids=[" ".join(a) for a, _, _ in TWICE])
def test_standard_input_for_two_things_is_refused(args, given, names, work):
    """Standard input is read once: a run that would read it for two things (the program, the
    params, the rows) reads neither and says which."""
    params = '{"theta1": [[0, 0], [0, 0], [0, 0]], "theta2": [[0], [0], [0]]}'
    (work / "p.json").write_text(params)
    given = {"XOR": (work / "xor.net").read_text(), "PARAMS": params}.get(given, given)
    r = run(*args, input=given)
    refused(r)
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: standard input is given for "), r.stderr
    assert all(n in first for n in names), r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args", [["train", "adir", "-q"],
                                  ["predict", "adir", "--params", "p.json"],
                                  ["train", "adir/", "--epochs", "1"]])
def test_a_directory_given_as_the_network_is_refused(args, work):
    """Commands that take only a network file say that a directory is one; its name is never
    read as the text of a network."""
    (work / "adir").mkdir()
    (work / "p.json").write_text("{}")
    r = run(*args)
    refused(r)
    assert r.stderr.splitlines()[0] == \
        f"error: cannot read {args[1]}: it is a directory, not a network file", r.stderr


STDIN_NAMES = ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]


@pytest.mark.parametrize("other", ["-", *STDIN_NAMES])
@pytest.mark.parametrize("name", STDIN_NAMES)
def test_standard_input_by_any_name_is_read_once(name, other, work):
    """The class of ``-`` twice: standard input named as a file (a pipe here) is standard
    input all the same, whichever of its names each argument uses."""
    if not os.path.exists(name):
        pytest.skip(f"{name} is not on this system")
    p = subprocess.run([*CMD, "diff", name, "--points", other], cwd=work, input="x*y",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    first = p.stderr.splitlines()[0]
    assert first == "error: standard input is given for both EXPR|FILE and --points", p.stderr
    assert p.stdout == ""


def test_a_regular_file_as_standard_input_may_be_named_twice(work):
    """Redirected from a file, /dev/stdin opens the file again from its start: each argument
    reads all of it, so naming it for two things is no fault. ``x`` is a program and a header
    of no rows."""
    (work / "x.txt").write_text("x\n")
    with open(work / "x.txt") as stdin:
        p = subprocess.run([*CMD, "diff", "/dev/stdin", "--points", "/dev/fd/0", "--format",
                            "csv"], cwd=work, stdin=stdin, capture_output=True, text=True,
                           timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "x,value,d/dx\n"


def test_a_named_pipe_given_twice_is_refused_unopened(work):
    """A FIFO is read once too: given for two things it is refused before either opens it (so
    its writer is left waiting, not fed to the first reader)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(work / "fifo")
    p = subprocess.run([*CMD, "diff", "fifo", "--points", "fifo"], cwd=work,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.splitlines()[0] == \
        "error: the pipe fifo is given for both EXPR|FILE and --points", p.stderr


def _closed_stdin():
    os.close(0)


def _cgcalc(args, **kw):
    """A real run of this tree's cgcalc (not whichever is installed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([*CMD, *args], env=env, capture_output=True, text=True, timeout=120,
                          **kw)


CLOSED = [  # every argument that may read standard input, given it while it is closed
    ["diff", "-"], ["diff", "/dev/stdin"], ["diff", "stdin-link"], ["diff", "x", "--points", "-"],
    ["diff", "x", "--points", "/dev/fd/0"], ["diff", "xor.net", "--points", "-"],
    ["diff", "xor.net", "--params", "-"], ["predict", "xor.net", "--params", "-"],
    ["predict", "xor.net", "--params", "p.json", "--points", "-"],
    ["predict", "-", "--params", "p.json"], ["train", "-", "-q"],
    ["train", "xor.net", "-q", "--params", "/proc/self/fd/0"], ["train", "sd.net", "-q"],
    ["check", "-", "--at", "x=1"], ["check", "xor.net", "--params", "-"], ["graph", "-"],
    ["graph", "xor.net", "--params", "-"], ["export", "-"],
]


@pytest.mark.parametrize("args", CLOSED, ids=[" ".join(a) for a in CLOSED])
def test_closed_standard_input_is_refused_as_such(args, work):
    """``<&-``: standard input is not there at all (sys.stdin is None). Each argument that
    would read it says so (exit 2), by any of its names."""
    (work / "p.json").write_text(json.dumps({"theta1": [[0, 0]] * 3, "theta2": [[0]] * 3}))
    (work / "sd.net").write_text((work / "line.net").read_text().replace(
        'data "line.csv"', 'data "/dev/stdin"'))
    os.symlink("/dev/stdin", work / "stdin-link")
    p = _cgcalc(args, cwd=work, preexec_fn=_closed_stdin)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith("error:") and "internal error" not in p.stderr, p.stderr
    assert "standard input is closed" in p.stderr.splitlines()[0], p.stderr
    assert p.stdout == ""


def test_closed_standard_input_is_no_fault_where_it_is_not_read(work):
    (work / "p.csv").write_text("x\n2\n")
    p = _cgcalc(["diff", "x^2", "--points", "p.csv", "--format", "csv"], cwd=work,
                preexec_fn=_closed_stdin)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "x,value,d/dx\n2,4.0,4.0\n" and p.stderr == ""


@pytest.mark.parametrize("args", [["diff", "-"], ["diff", "x", "--points", "-"]])
def test_standard_input_that_cannot_be_read_is_a_read_error(args, work):
    """Standard input open for writing only: a read fails, and says it was the read."""
    with open(os.devnull, "w") as stdin:
        p = _cgcalc(args, cwd=work, stdin=stdin)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.startswith("error: cannot read standard input:"), p.stderr


DATA_STDIN = ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "stdin-link", "../w/stdin-link"]
OTHER_READER = [(["predict", "sd.net", "--params", "-"], "--params"),
                (["train", "sd.net", "-q", "--params", "/dev/stdin"], "--params"),
                (["check", "sd.net", "--params", "/dev/fd/0"], "--params"),
                (["diff", "sd.net", "--params", "/proc/self/fd/0"], "--params"),
                (["train", "-", "-q"], "FILE.net")]


@pytest.mark.parametrize("args, other", OTHER_READER, ids=[" ".join(a) for a, _ in OTHER_READER])
@pytest.mark.parametrize("name", DATA_STDIN)
def test_a_data_file_that_is_standard_input_is_read_once_too(name, args, other, tmp_path):
    """A network's ``data "/dev/stdin"`` (any name of it, a link to it) reads standard input:
    with another argument reading it too, the run is refused as for ``--params -`` with
    ``--points -``, at the data line."""
    work = tmp_path / "w"
    work.mkdir()
    if name.startswith("/") and not os.path.exists(name):
        pytest.skip(f"{name} is not on this system")
    os.symlink("/dev/stdin", work / "stdin-link")
    net = (ROOT / "examples" / "line.net").read_text().replace('data "line.csv"',
                                                               f'data "{name}"')
    (work / "sd.net").write_text(net)
    given = net if args[1] == "-" else json.dumps({"a": [[2.0]], "b": [[1.0]]})
    p = _cgcalc(args, cwd=work, input=given)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    first = p.stderr.splitlines()[0]
    assert first.endswith(f'standard input is given for both {other} and data "{name}"'), \
        p.stderr
    assert ":13:6: " in first and f'  13 | data "{name}"' in p.stderr, p.stderr
    assert p.stdout == ""


# -- a header row names the columns it is read as -----------------------------------------------

HEADERS = [  # (command, rows, line and column of the first wrong name)
    ("predict", "X2 X1\n0 1\n", 1, 1),
    ("predict", "A B\n0 1\n", 1, 1),
    ("predict", "X1   B\n0 1\n", 1, 6),
    ("predict", "x1,x2\n0,1\n", 1, 1),
    ("predict", "# inputs\n\n  X1, X3\n0 1\n", 3, 7),
    ("diff", "X2 X1 y\n0 1 1\n", 1, 1),
    ("diff", "X1 X2 -> Y\n0 1 -> 1\n", 1, 10),
    ("diff", "y X1 X2\n0 1 1\n", 1, 1),
]


def _rows_run(command, where):
    if command == "predict":
        return ["predict", "xor.net", "--params", "p.json", "--points", where, "--format", "json"]
    return ["diff", "xor.net", "--points", where, "--format", "plain"]


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
@pytest.mark.parametrize("command, rows, line, col", HEADERS)
def test_a_header_row_that_does_not_name_the_columns_in_order_is_refused(command, rows, line,
                                                                         col, stdin, work):
    """--points rows of a network are read by place; a header row naming other columns (or
    the same in another order) would label the results wrongly: refused at its first wrong
    name, saying which names the columns have."""
    (work / "p.json").write_text('{"theta1": [[0, 0], [0, 0], [0, 0]], '
                                 '"theta2": [[0], [0], [0]]}')
    (work / "F").write_text(rows)
    r = run(*_rows_run(command, "-" if stdin else "F"), input=rows if stdin else None)
    refused(r)
    name = "<stdin>" if stdin else "F"
    assert r.stderr.startswith(f"error: {name}:{line}:{col}: "), r.stderr
    expected = "X1, X2" if command == "predict" else "X1, X2, y"
    assert expected in r.stderr.splitlines()[0], r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("command, rows", [("predict", "X1 X2\n0 1\n"),
                                           ("predict", "X1,X2\n0,1\n"),
                                           ("diff", "X1 X2 -> y\n0 1 -> 1\n"),
                                           ("diff", "X1 X2 y\n0 1 1\n")])
def test_a_header_row_that_names_the_columns_in_order_is_read(command, rows, work):
    (work / "p.json").write_text('{"theta1": [[0, 0], [0, 0], [0, 0]], '
                                 '"theta2": [[0], [0], [0]]}')
    (work / "F").write_text(rows)
    r = run(*_rows_run(command, "F"))
    assert r.exit_code == 0, r.stderr
    if command == "predict":
        assert json.loads(r.stdout) == {"X1": 0.0, "X2": 1.0, "L3": 0.5}


# -- modes and owners -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600, 0o664])
def test_an_existing_files_permissions_are_kept(kind, mode, work):
    (work / "out.txt").write_text("old\n")
    os.chmod(work / "out.txt", mode)
    r = run(*WRITERS[kind], "out.txt")
    assert r.exit_code == 0, r.stderr
    written_right(kind, (work / "out.txt").read_bytes())
    assert stat.S_IMODE(os.stat(work / "out.txt").st_mode) == mode


@root_only
@pytest.mark.parametrize("kind", list(WRITERS))
def test_root_keeps_the_owner_of_an_existing_file(kind, work):
    (work / "out.txt").write_text("old\n")
    os.chown(work / "out.txt", 65534, 65534)
    r = run(*WRITERS[kind], "out.txt")
    assert r.exit_code == 0, r.stderr
    st = os.stat(work / "out.txt")
    assert (st.st_uid, st.st_gid) == (65534, 65534)


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o027, 0o077])
def test_a_new_file_gets_the_umasks_mode(kind, umask, work):
    old = os.umask(umask)
    try:
        r = run(*WRITERS[kind], "new.txt")
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.stderr
    assert stat.S_IMODE(os.stat(work / "new.txt").st_mode) == 0o666 & ~umask
    assert listing(work) == ["line.csv", "line.net", "new.txt", "xor.net"]


# -- a write that fails: the old file whole, nothing left behind (real processes) ----------------

def small_files():
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))  # writes beyond 100 bytes fail


@pytest.mark.parametrize("args", [TRAIN + ["old.json"],
                                  ["graph", "exp(sin(x*y))*log(1 + x^2)", "-o", "old.json"]])
def test_a_write_that_fails_keeps_the_old_file_and_leaves_nothing(args, work):
    old = b'{"theta1": "the old params"}\n'
    (work / "old.json").write_bytes(old)
    before = listing(work)
    p = subprocess.run([*CMD, *args], cwd=work, capture_output=True, text=True, timeout=60,
                       preexec_fn=small_files)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.startswith("error:") and "old.json" in p.stderr.splitlines()[0], p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    assert (work / "old.json").read_bytes() == old
    assert listing(work) == before, "a temporary file was left behind"


# -- standard output that cannot be written -------------------------------------------------------

OUTPUTS = {
    "diff": ["diff", "x^2", "--at", "x=1", "--format", "plain"],
    "diff-json": ["diff", "x^2", "--at", "x=1", "--format", "json"],
    "graph-tree": ["graph", "x^2"],
    "points": ["diff", "x^2", "--points", "pts.csv", "--format", "csv"],
    "train": ["train", "xor.net", "-q", "--epochs", "5", "--format", "plain"],
}


def shell(redirect, args, cwd):
    """cgcalc run by the shell with ``redirect`` applied to its standard output."""
    return subprocess.run(["/bin/sh", "-c", f'exec "$@" {redirect}', "sh", *CMD, *args],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("redirect, name",
                         [("> /dev/full", name) for name in OUTPUTS] +  # a full disk
                         [(">&-", name) for name in ["diff", "graph-tree", "points"]])  # closed
def test_standard_output_that_cannot_be_written(redirect, name, work):
    (work / "pts.csv").write_text("x\n1\n2\n")
    p = shell(redirect, OUTPUTS[name], work)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.startswith("error:") and "Traceback" not in p.stderr, p.stderr
    assert "internal error" not in p.stderr, p.stderr


def test_a_reader_that_goes_away_ends_the_run_quietly(work):
    (work / "wide.cg").write_text("+".join(f"sin(x*{i})" for i in range(1, 2000)) + "\n")
    p = subprocess.Popen([*CMD, "diff", "wide.cg", "--format", "json"], cwd=work,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    _, err = p.communicate(timeout=60)
    assert first.startswith(b"{")
    assert err == b"", err[:400]


def test_what_a_data_file_reads_is_not_kept_for_the_next_run(tmp_path):
    """A network's data file that is a pipe is checked against what the command line reads,
    and not recorded: the next run in the same process (the API, the tests) may read that
    pipe again, by any name (it was refused: "the pipe ... is given for both data ... and
    data ..."). The command line's own readers are still refused together."""
    from cgcalc.errors import CgcalcError
    from cgcalc.inputs import read_once_too, stdin_once

    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to(fifo)
    stdin_once([])  # a run with no argument that reads a pipe
    for name in ("ff", "link", "ff"):
        read_once_too(f"data {name}", str(tmp_path / name))
    stdin_once([("--points", str(fifo))])  # a run whose command line reads it
    with pytest.raises(CgcalcError, match="is given for both --points and data"):
        read_once_too("data link", str(tmp_path / "link"))
    stdin_once([])


# -- the process's own streams: written through them, in place -----------------------------------

OWN_STREAMS = [  # (the name given to -o / --save, the descriptor it names)
    ("/dev/stdout", 1), ("/proc/self/fd/1", 1), ("/dev/fd/1", 1), ("stdout.link", 1),
    ("/dev/stderr", 2), ("/proc/self/fd/2", 2), ("/dev/fd/5", 5), ("/proc/self/fd/5", 5),
]


def _wrote(kind, data, fd):
    """Check what a writer of ``kind`` put on descriptor ``fd`` (train's table follows its
    params on standard output)."""
    if kind == "save" and fd == 1:
        params, table = data.split(b"\n", 1)
        written_right(kind, params)
        assert table.startswith(b"epochs\t5\n"), data[:300]
    else:
        written_right(kind, data)


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("name, fd", OWN_STREAMS)
@pytest.mark.parametrize("how", [">>", ">", "|"])
def test_an_own_stream_is_written_through_it_in_place(kind, name, fd, how, work):
    """``>> log`` keeps what the log held and adds to it; ``> log`` writes the file the shell
    opened (its inode stays, train's table is in it too); a pipe is written, not looked up by
    what /proc calls it (``pipe:[N]``, which is no file: 'No such file or directory')."""
    os.symlink("/dev/stdout", work / "stdout.link")
    log = work / "log"
    log.write_bytes(b"PRECIOUS\n")
    inode = os.stat(log).st_ino
    if how == "|":
        redirect = f"{fd}>&1 | cat" if fd != 1 else "| cat"
    else:
        redirect = f"{fd}{how} log"
    p = subprocess.run(["/bin/sh", "-c", f'"$@" {redirect}', "sh", *CMD, *WRITERS[kind], name],
                       cwd=work, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    if how == "|":  # (N>&1: descriptor N and standard output are the one pipe)
        assert log.read_bytes() == b"PRECIOUS\n"
        _wrote(kind, p.stdout, 1)
        return
    data = log.read_bytes()
    assert os.stat(log).st_ino == inode, "the log was replaced"
    if how == ">>":
        assert data.startswith(b"PRECIOUS\n"), data[:100]
        data = data[len(b"PRECIOUS\n"):]
    _wrote(kind, data, fd)
    assert set(listing(work)) == {"line.csv", "line.net", "xor.net", "log", "stdout.link"}


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("name, redirect", [("/dev/stdin", "< mine.txt"),
                                            ("/dev/fd/0", "< mine.txt"),
                                            ("/dev/fd/5", "5< mine.txt"),
                                            ("/proc/self/fd/5", "5< mine.txt")])
def test_a_stream_open_for_reading_only_is_refused(kind, name, redirect, work):
    """A stream the shell opened for reading is not written, and the file behind it is not
    replaced by its name (it was: /proc/self/fd/0 reads as the file's path)."""
    (work / "mine.txt").write_text("the user's file\n")
    p = shell(redirect, [*WRITERS[kind], name], work)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.startswith(f"error: cannot write {name}: it is open for reading only"), \
        p.stderr
    assert (work / "mine.txt").read_text() == "the user's file\n"


# -- names of directories -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("name", ["notes.txt/", "notes.txt//", "newdir/", "newdir/.",
                                  "newdir/..", "notes.txt/.", "slash.link", "/dev/stdout/"])
def test_a_name_of_a_directory_is_refused_and_nothing_is_written(kind, name, work):
    """A name ending in / (or /., /..) names a directory: the system would drop the slash
    and write a file ``notes.txt`` or ``newdir``. A link whose text ends in / is the same."""
    (work / "notes.txt").write_text("the user's notes\n")
    os.symlink("newdir/", work / "slash.link")
    before = listing(work)
    r = run(*WRITERS[kind], name)
    refused(r, name)
    assert "directory" in r.stderr.splitlines()[0], r.stderr
    assert listing(work) == before
    assert (work / "notes.txt").read_text() == "the user's notes\n"


# -- refused before the work, not after it --------------------------------------------------------

WORK = {"save": "cgcalc.net.train.train", "graph-tree": "cgcalc.commands.graph_expression",
        "graph-dot": "cgcalc.commands.graph_expression", "export": "cgcalc.commands._module"}


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("target", ["nodir/out.txt", "xor.net/out.txt", "notes.txt/", "",
                                    "dangling.link", "/sys/cgcalc-out.txt"])
def test_an_output_that_cannot_be_written_is_refused_before_the_work(kind, target, work,
                                                                     monkeypatch):
    """train --save, graph -o and export -o are checked before the training (or drawing, or
    deriving) starts: a run of hours was lost to a missing folder. /sys refuses a new file
    even to root, whom os.access tells yes: the check makes a file and removes it."""
    if target.startswith("/sys/"):
        if not os.path.isdir("/sys") or os.access("/sys", os.W_OK) is False:
            pytest.skip("no /sys here, or os.access already says no")
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            os.unlink(target)
            pytest.skip("/sys takes a new file here")
        except OSError:
            pass
    (work / "notes.txt").write_text("the user's notes\n")
    os.symlink("nodir/p.json", work / "dangling.link")
    module, _, attr = WORK[kind].rpartition(".")

    def work_done(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(importlib.import_module(module), attr, work_done)
    before = listing(work)
    r = run(*WRITERS[kind], target)
    refused(r, target or None)
    assert listing(work) == before


def drop_dac_override():
    """In the child before exec: drop root's power to write where the modes say no."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_read_only_directory_is_refused_before_the_work(kind, work):
    """A folder of mode 0555 (root without its override: what the system really does)."""
    (work / "ro").mkdir()
    os.chmod(work / "ro", 0o555)
    args = [*WRITERS[kind], "ro/out.txt"]
    if kind == "save":
        args[args.index("5")] = "100000000"  # hours of training: refused before them
    try:
        p = subprocess.run([*CMD, *args], cwd=work, capture_output=True, text=True, timeout=30,
                           preexec_fn=drop_dac_override if os.geteuid() == 0 else None)
    except subprocess.TimeoutExpired:
        pytest.fail("still running after 30 s: the output was not checked before the work")
    except subprocess.SubprocessError as exc:  # the preexec_fn failed
        pytest.skip(f"cannot drop root's power to write everywhere here: {exc}")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.startswith("error: cannot write ro/out.txt: Permission denied"), p.stderr
    assert listing(work / "ro") == []


# -- a --save that fails at the end ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["plain", "json"])
@pytest.mark.parametrize("target", ["/dev/full", "old.json"])
def test_a_save_that_fails_at_the_end_still_shows_the_result(fmt, target, work):
    """A full disk found at the end (a device written in place, or a file past the size the
    system allows): the training's table is still printed, then the error says the params
    were not saved and where they can be had (in --format json's output)."""
    (work / "old.json").write_bytes(b'{"theta1": "the old params"}\n')
    p = subprocess.run([*CMD, "train", "xor.net", "-q", "--epochs", "5", "--format", fmt,
                        "--save", target], cwd=work, capture_output=True, text=True,
                       timeout=60, preexec_fn=small_files)
    assert p.returncode == 2, (p.returncode, p.stderr)
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"error: cannot write {target}: ") and \
        first.endswith("; the trained params were not saved"), p.stderr
    if fmt == "json":
        doc = json.loads(p.stdout)
        assert set(doc["params"]) == {"theta1", "theta2"} and doc["epochs"] == 5
        assert "they are in the JSON above" in p.stderr, p.stderr
    else:
        assert p.stdout.startswith("epochs\t5\ncost\t"), p.stdout
        assert "--format json prints them" in p.stderr, p.stderr
    assert (work / "old.json").read_bytes() == b'{"theta1": "the old params"}\n'
    assert listing(work) == ["line.csv", "line.net", "old.json", "xor.net"]


# -- Ctrl-C during a write ------------------------------------------------------------------------

@pytest.mark.parametrize("step, old", [(step, old) for step in ("open", "fdopen", "fsync",
                                                                  "chmod", "replace")
                                         for old in (True, False) if old or step != "chmod"])
def test_ctrl_c_during_a_write_leaves_the_old_file_and_nothing_else(step, old, work,
                                                                    monkeypatch):
    """Ctrl-C at any step of a write, even as the temporary file is made: the old file whole
    (or none), no temporary file left."""
    from cgcalc import files

    if old:
        (work / "out.txt").write_text("old\n")
    before = listing(work)
    real = getattr(os, step)

    def interrupted(*args, **kwargs):
        if step in ("open", "fdopen"):
            real(*args, **kwargs)  # done, and the signal comes as it returns
        raise KeyboardInterrupt

    monkeypatch.setattr(os, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_output("out.txt", b"new\n" * 1000)
    monkeypatch.undo()
    assert listing(work) == before
    if old:
        assert (work / "out.txt").read_text() == "old\n"


def test_ctrl_c_as_the_check_makes_its_file_leaves_nothing(work, monkeypatch):
    from cgcalc import files

    real = os.open

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    before = listing(work)
    monkeypatch.setattr(os, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.check_output("out.txt")
    monkeypatch.undo()
    assert listing(work) == before


# -- long names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("length", [200, 255])
def test_a_name_near_the_systems_limit_is_written(kind, length, work):
    """The temporary file's name is not longer than the file's own (255 bytes at most)."""
    name = "p" * (length - 4) + ".out"
    r = run(*WRITERS[kind], name)
    assert r.exit_code == 0, r.stderr
    written_right(kind, (work / name).read_bytes())
    assert listing(work) == sorted(["line.csv", "line.net", name, "xor.net"])
