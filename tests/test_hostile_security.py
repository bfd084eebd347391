"""Hostile environment: nothing is unpickled from (or written into) the shared temporary
directory, whatever the state of cgcalc's own cache (cold, unwritable, absent: a HOME that does
not exist); cgcalc's table cache is read as untrusted input (truncated, 5 bytes, a marshal
header claiming 2^31 items, empty, group- or world-writable, another user's, a symbolic link:
ignored, the parse still works, no file it points to is touched); a HOME that does not exist is
never created.

Each run happens in a real process that records, with an audit hook (sys.addaudithook), every
file it opens under the watched paths, every class a pickle asks for and every marshal load of
a planted file's bytes, then runs cgcalc's command line."""

import json
import os
import pickle
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
XOR = (ROOT / "examples" / "xor.net").read_text()

PROBE = r"""
import json, os, sys
spec = json.loads(sys.argv[1])
watch = [os.path.abspath(p) for p in spec["watch"]]
hostile = []
for p in spec["hostile"]:
    with open(p, "rb") as fh:
        hostile.append(fh.read())
events = []

def under(p):
    return any(p == w or p.startswith(w + os.sep) for w in watch)

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        p = os.path.abspath(os.fsdecode(args[0]))
        if under(p):
            events.append(["open", p])
    elif event == "pickle.find_class":
        events.append(["unpickle", f"{args[0]}.{args[1]}"])
    elif event == "marshal.loads" and hostile:
        data = args[0]
        if isinstance(data, (bytes, bytearray)) and len(data) > 64 and \
                any(h.endswith(data) for h in hostile):
            events.append(["marshal", len(data)])

sys.addaudithook(hook)
from cgcalc.cli import main
codes = []
for argv in spec["runs"]:
    try:
        main(argv, prog_name="cgcalc")
    except SystemExit as e:
        codes.append(e.code)
    print("\n-- end of run --", flush=True)
    print("\n-- end of run --", file=sys.stderr, flush=True)
with open(spec["report"], "w") as fh:
    json.dump({"codes": codes, "events": events}, fh)
"""


def probe(tmp, runs, env, watch=(), hostile=()):
    """Run cgcalc's command line once for each argv of ``runs`` in one process with the audit
    hook; returns (exit codes, events, [stdout per run], [stderr per run])."""
    report = tmp / "report.json"
    spec = {"runs": runs, "watch": [str(w) for w in watch], "hostile": [str(h) for h in hostile],
            "report": str(report)}
    import resource

    def limits():  # a regression must fail, not take the machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    p = subprocess.run([sys.executable, "-c", PROBE, json.dumps(spec)], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=120, preexec_fn=limits)
    assert report.exists(), f"the probe did not finish: {p.returncode}\n{p.stderr[-2000:]}"
    doc = json.loads(report.read_text())
    outs = p.stdout.split("\n-- end of run --\n")
    errs = p.stderr.split("\n-- end of run --\n")
    return doc["codes"], doc["events"], outs, errs


def environment(**changes):
    env = dict(os.environ)
    for k in ("CGCALC_DEBUG", "PYTHONSTARTUP"):
        env.pop(k, None)
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def plain_values(text):
    return {line.split(" = ")[0]: float(line.rsplit(" = ", 1)[1])
            for line in text.splitlines() if " = " in line}


# -- lark's pickle cache in the shared temporary directory ----------------------------------------

class Evil:
    """A pickle that, when loaded, creates a marker file (what an attacker's os.system does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


def lark_cache_names(shared):
    """Names of the form lark (cache=True) reads in the temporary directory."""
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - lark's own fallback
        user = "unknown"
    version = f"{sys.version_info[0]}_{sys.version_info[1]}"
    return [shared / f".lark_{kind}_{user}_{digest}_{version}.tmp"
            for kind in ("cache", "cache_grammar")
            for digest in ("0" * 64, "f" * 64)] + [shared / ".lark_cache_unknown_x_3_11.tmp"]


@pytest.fixture
def shared(tmp_path):
    """A world-writable sticky temporary directory in which 'another user' planted pickles at
    lark's cache names (and a symbolic link to a victim file)."""
    d = tmp_path / "shared-tmp"
    d.mkdir()
    os.chmod(d, 0o1777)
    marker = tmp_path / "PWNED"
    payload = b"0" * 64 + b"\n" + pickle.dumps(Evil(str(marker)), protocol=2) * 2
    names = lark_cache_names(d)
    for name in names[:-1]:
        name.write_bytes(payload)
        os.chmod(name, 0o666)
    (tmp_path / "victim.txt").write_text("the victim's file\n")
    os.symlink(tmp_path / "victim.txt", names[-1])
    return d


BAD_NET = XOR.replace("L3 = sigmoid(L2 @ theta2)", "L3 = sigmoid(L2 @@ theta2)")


@pytest.mark.parametrize("cache, what", [("cold", "expression"), ("unwritable", "expression"),
                                         ("no-home", "expression"), ("cold", "network"),
                                         ("no-home", "network"), ("cold", "at")])
def test_nothing_is_unpickled_from_the_shared_temporary_directory(cache, what, shared,
                                                                  tmp_path):
    (tmp_path / "bad.net").write_text(BAD_NET)
    argv = {"expression": ["diff", "x + * 2", "--format", "plain"],
            "network": ["diff", "bad.net", "--format", "plain"],
            "at": ["diff", "x^2", "--at", "x=1+", "--format", "plain"]}[what]
    if cache == "cold":
        (tmp_path / "cold").mkdir()
        env = environment(TMPDIR=shared, CGCALC_CACHE_DIR=tmp_path / "cold")
    elif cache == "unwritable":
        (tmp_path / "a-file").write_text("a file where the cache directory would be\n")
        env = environment(TMPDIR=shared, CGCALC_CACHE_DIR=tmp_path / "a-file" / "cgcalc")
    else:
        env = environment(TMPDIR=shared, HOME=tmp_path / "no-such-home", CGCALC_CACHE_DIR=None,
                          XDG_CACHE_HOME=None)
    planted = sorted(os.listdir(shared))
    codes, events, _, errs = probe(tmp_path, [argv], env, watch=[shared])
    assert not (tmp_path / "PWNED").exists(), "a pickle planted in $TMPDIR ran code"
    assert not [e for e in events if e[0] == "unpickle"], events
    assert not [e for e in events if e[0] == "open"], f"files opened in $TMPDIR: {events}"
    assert (tmp_path / "victim.txt").read_text() == "the victim's file\n"
    assert sorted(os.listdir(shared)) == planted, "something was written into $TMPDIR"
    assert codes == [2] and errs[0].startswith("error: "), (codes, errs)
    assert ":1:" in errs[0].splitlines()[0] or "bad.net:10:" in errs[0], errs[0]
    assert "^" in errs[0] and "Traceback" not in errs[0]
    assert not (tmp_path / "no-such-home").exists()


# -- cgcalc's own table cache as untrusted input --------------------------------------------------

GOOD = [["diff", "x^2*y", "--at", "x=3,y=2", "--format", "plain"],
        ["diff", "w.net", "--format", "plain"]]
# an expression that reaches the expression grammar's tables (a valid one is parsed without them,
# by cgcalc/precedence.py): a syntax error, which the tables find and lark places
TABLED = ["diff", "x^2*y +", "--at", "x=3,y=2", "--format", "plain"]


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A table cache built by a run of each grammar, and what those runs print."""
    d = tmp_path_factory.mktemp("warm")
    (d / "w.net").write_text(XOR)
    (d / "cache").mkdir()
    codes, _, outs, errs = probe(d, [TABLED, GOOD[1]], environment(CGCALC_CACHE_DIR=d / "cache"))
    assert codes == [2, 0] and errs[0].startswith("error: <expr>:1:8: "), errs
    files = sorted(p for p in (d / "cache").iterdir() if p.is_file())
    assert len(files) == 2, files  # one table file per grammar
    return d, files, (errs[0], outs[1])


def _truncate(p, tmp):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _five_bytes(p, tmp):
    p.write_bytes(b"\xfb\x00\x01\x02\x03")


def _empty(p, tmp):
    p.write_bytes(b"")


def _huge_list(p, tmp):  # marshal's list type, then a count of 2^31 - 1
    p.write_bytes(b"[" + (2 ** 31 - 1).to_bytes(4, "little") + b"N" * 16)


def _huge_list_after_header(p, tmp):  # the same after the file's own first bytes
    data = p.read_bytes()
    p.write_bytes(data[:44] + b"[" + (2 ** 31 - 1).to_bytes(4, "little") + b"N" * 16)


def _group_writable(p, tmp):
    os.chmod(p, 0o664)


def _world_writable(p, tmp):
    os.chmod(p, 0o646)


def _other_owner(p, tmp):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    os.chown(p, 65534, 65534)


def _symlink(p, tmp):
    """The table file replaced by a link to a file of the same bytes elsewhere: a link is not
    the user's own file in the cache, and nothing may be written through it."""
    victim = tmp / f"victim-{p.name}"
    victim.write_bytes(p.read_bytes())
    p.unlink()
    os.symlink(victim, p)


CORRUPT = {"truncated": _truncate, "five-bytes": _five_bytes, "empty": _empty,
           "huge-list": _huge_list, "huge-list-after-header": _huge_list_after_header,
           "group-writable": _group_writable, "world-writable": _world_writable,
           "other-owner": _other_owner, "symlink": _symlink}
TRUST = {"group-writable", "world-writable", "other-owner", "symlink"}  # valid bytes, untrusted


@pytest.mark.parametrize("first, second", [("truncated", "five-bytes"), ("huge-list", "empty"),
                                           ("group-writable", "world-writable"),
                                           ("other-owner", "huge-list-after-header"),
                                           ("symlink", "symlink")])
def test_hostile_table_files_are_ignored_and_the_parse_still_works(first, second, warm,
                                                                     tmp_path):
    """The expression grammar's table file gets one fault, the network grammar's the other;
    both commands still give the warm run's answers."""
    d, files, want = warm
    cache = tmp_path / "cache"
    shutil.copytree(d / "cache", cache)
    shutil.copy(d / "w.net", tmp_path / "w.net")
    mine = sorted(p for p in cache.iterdir() if p.is_file())
    expr_file = next(p for p in mine if p.name.startswith("expr"))
    net_file = next(p for p in mine if p.name.startswith("net"))
    hostile = []
    for name, path in ((first, expr_file), (second, net_file)):
        if name in TRUST:
            hostile.append(tmp_path / f"copy-{path.name}")
            shutil.copy(path, hostile[-1])
        CORRUPT[name](path, tmp_path)
    victims = {p: p.read_bytes() for p in tmp_path.glob("victim-*")}
    codes, events, outs, errs = probe(tmp_path, [TABLED, GOOD[1]],
                                      environment(CGCALC_CACHE_DIR=cache), hostile=hostile)
    assert codes == [2, 0], (codes, errs)
    assert "Traceback" not in "".join(errs) and "internal error" not in "".join(errs), errs
    assert errs[0] == want[0] and not errs[1]  # the same error, in the same place
    assert outs[1] == want[1]
    assert not [e for e in events if e[0] == "marshal"], \
        f"tables read from an untrusted file ({first} / {second})"
    for p, data in victims.items():
        assert p.read_bytes() == data, f"{p.name} was written through a link"


def test_a_cache_directory_that_is_a_file_is_left_alone(tmp_path):
    (tmp_path / "cachefile").write_text("the user's data\n")
    codes, _, outs, errs = probe(tmp_path, [GOOD[0], TABLED],
                                 environment(CGCALC_CACHE_DIR=tmp_path / "cachefile"))
    assert codes == [0, 2] and plain_values(outs[0])["d/dx"] == 12.0
    assert errs[1].startswith("error: <expr>:1:8: ")
    assert (tmp_path / "cachefile").read_text() == "the user's data\n"


def test_a_new_cache_directory_is_the_users_alone(tmp_path):
    cache = tmp_path / "new" / "cgcalc"
    codes, _, _, _ = probe(tmp_path, [TABLED], environment(CGCALC_CACHE_DIR=cache))
    assert codes == [2]
    assert stat.S_IMODE(os.stat(cache).st_mode) & 0o077 == 0, oct(os.stat(cache).st_mode)
    for f in cache.iterdir():
        assert stat.S_IMODE(os.lstat(f).st_mode) & 0o022 == 0, (f, oct(os.lstat(f).st_mode))
    assert not [f for f in cache.iterdir() if f.name.endswith(".tmp")], "a temporary file left"


@pytest.mark.parametrize("argv", [GOOD[0], ["diff", "x + * 2", "--format", "plain"]])
def test_a_home_that_does_not_exist_is_never_created(argv, tmp_path):
    home = tmp_path / "no-such-home"
    (tmp_path / "tmp").mkdir()
    env = environment(HOME=home, CGCALC_CACHE_DIR=None, XDG_CACHE_HOME=None,
                      TMPDIR=tmp_path / "tmp")
    codes, events, outs, errs = probe(tmp_path, [argv], env, watch=[home, tmp_path / "tmp"])
    assert codes == [0 if argv is GOOD[0] else 2], errs
    assert not home.exists(), "the missing HOME was created"
    assert not events, events
    assert os.listdir(tmp_path / "tmp") == []


@pytest.mark.parametrize("argv", [["diff", "__import__('os').system('touch PWNED')"],
                                  ["diff", "x", "--at", "x=__import__('os').system('touch PWNED')"],
                                  ["diff", "x", "--at", "x=eval('1')"]])
def test_nothing_typed_is_run(argv, tmp_path):
    codes, _, _, errs = probe(tmp_path, [argv], environment())
    assert codes == [2] and errs[0].startswith("error: "), errs
    assert not (tmp_path / "PWNED").exists()


def test_code_is_run_from_one_place_and_from_no_user_text():
    """exec/eval/compile appear once in cgcalc: the written-out training step, whose text holds
    only its own names (t12, v3_0, f_sigmoid) and the repr of finite floats, never a name or
    a token a user wrote."""
    import ast
    import re
    from pathlib import Path

    import numpy as np

    from cgcalc.net import Network, backprop, scalar_step
    from cgcalc.net.data import file_data
    from cgcalc.net.params import initial_params

    root = Path(__file__).resolve().parents[1] / "cgcalc"
    calls = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("exec", "eval", "compile", "__import__"):
                calls.append((path.relative_to(root).as_posix(), node.func.id))
    assert sorted(calls) == [("net/scalar_step.py", "compile"), ("net/scalar_step.py", "exec")]

    text = """
input  __class__[2]
target exec[1]
param  eval[3, 1] ~ uniform(-1, 1)
A = sigmoid([__class__, 1] @ eval) * 1e300
C = cross_entropy(A, exec)
output A
minimize C
data {
  0 0 -> 0
  1 1 -> 1
}
"""
    seen = []
    real = compile
    net = Network(text, "t.net")
    env = net.env(initial_params(net, rng=np.random.default_rng(0)), file_data(net))
    (_, tape, _), nodes = backprop.train_tapes(net)
    scalar_step.compile = lambda src, *a: seen.append(src) or real(src, *a)
    try:
        assert scalar_step.compile_step(net, nodes, env, calls=10**9) is not None
    finally:
        del scalar_step.compile
    (src,) = seen
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", src))
    ours = (r"def|step|descend|for|in|range|_|_n|_rate|return|e|t\d+|V\d+|v\d+_\d+|"
            r"f_[a-z_]+|_max|_log")  # e: 1e+300
    assert all(re.fullmatch(ours, w) for w in words), words
    assert "exec" not in src and "eval" not in src and "__class__" not in src
