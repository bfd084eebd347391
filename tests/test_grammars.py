"""cgcalc/grammars.py: the grammar found, and the parser cache (lark's standalone module,
compiled, in CGCALC_CACHE_DIR): written once, loaded without importing lark, rebuilt when it is
stale or damaged, and never needed: without a writable cache every run parses with lark itself,
to the same result."""

import os
import subprocess
import sys

import pytest

from cgcalc import grammars
from cgcalc.net import ToSpec
from cgcalc.parse import ToAst

PROGRAMS = ["exp(sin(x^2))", "-x^2 + 2^3^2", "a = (x +\n y); b = a'*2\nb", "θ1 * σ(x)"]
BAD = ["sin(x", "x +* y", "2 x", "x ) + 1", "$"]


def shape(stmts):
    """A program's statements as nested tuples of (kind, text, line, column)."""
    def tree(ast):
        out, stack = {}, [(ast, False)]
        while stack:
            a, done = stack.pop()
            if done:
                out[id(a)] = (a.kind, a.text, a.line, a.column, tuple(out[id(c)] for c in a.args))
            else:
                stack.append((a, True))
                stack.extend((c, False) for c in a.args)
        return out[id(ast)]
    return [(s.name, s.line, s.column, tree(s.expr)) for s in stmts]


def parse_with(p, text):
    try:
        return shape(p.parse(text))
    except p.errors.UnexpectedInput as u:
        from cgcalc.parse import _syntax_error
        return _syntax_error(u, p.errors, text, None).render()


def cache_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".pyc")) if os.path.isdir(d) else []


def test_grammar_found():
    assert os.path.isfile(os.path.join(grammars.grammar_dir(), "expr.lark"))


def test_cache_written_once_then_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    built = grammars._load("expr", ToAst(), "basic")
    files = cache_files(tmp_path)
    assert len(files) == 1 and files[0].startswith("expr-basic-")
    mtime = os.path.getmtime(tmp_path / files[0])
    loaded = grammars._load("expr", ToAst(), "basic")
    assert os.path.getmtime(tmp_path / files[0]) == mtime  # read, not written again
    assert loaded.errors.CGCALC_GRAMMAR == built.errors.CGCALC_GRAMMAR  # both the cached module
    for text in PROGRAMS + BAD:
        assert parse_with(loaded, text) == parse_with(built, text)


def test_cached_parser_equals_lark_itself(tmp_path, monkeypatch):
    import lark.exceptions

    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    cached = grammars._load("expr", ToAst(), "basic")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path / "file"))  # not a directory
    plain = grammars._load("expr", ToAst(), "basic")
    assert plain.errors is lark.exceptions and cached.errors is not lark.exceptions
    for text in PROGRAMS + BAD:
        got = parse_with(cached, text)
        assert got == parse_with(plain, text)
    assert "missing ')'" in parse_with(cached, "sin(x")


def test_net_grammar_cached_too(tmp_path, monkeypatch):
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    p = grammars._load("net", ToSpec(), "contextual")
    p.transformer.spec = type(p.transformer.spec)()
    spec = p.parse("input X[2]\nparam w[2, 1]\nL = [X,\n 1] @ w\noutput L\n")
    assert [d.name for d in spec.decls] == ["X", "w"] and spec.output.value == "L"
    assert any(f.startswith("net-contextual-") for f in cache_files(tmp_path))


@pytest.mark.parametrize("damage", [b"", b"not a pyc at all", None])
def test_damaged_or_stale_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    import py_compile

    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    grammars._load("expr", ToAst(), "basic")
    (name,) = cache_files(tmp_path)
    if damage is None:  # a valid module, built from another grammar
        src = tmp_path / "other.py"
        src.write_text("CGCALC_GRAMMAR = 'another grammar'\n")
        py_compile.compile(str(src), cfile=str(tmp_path / name), doraise=True)
    else:
        (tmp_path / name).write_bytes(damage)
    p = grammars._load("expr", ToAst(), "basic")
    assert parse_with(p, "sin(x)")[0][3][:2] == ("call", "sin")
    assert grammars._load_cached(str(tmp_path / name),
                                 p.errors.CGCALC_GRAMMAR) is not None  # rewritten, whole


def test_one_shot_run_does_not_import_lark(tmp_path):
    env = {**os.environ, "CGCALC_CACHE_DIR": str(tmp_path)}
    code = ("import sys\nfrom cgcalc.cli import main\nsys.argv = ['cgcalc', 'diff', 'sin(x)', "
            "'--at', 'x=1', '--format', 'plain']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('lark', 'numpy', 'rich') if m in sys.modules))")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0] == \
        "d/dx = cos(x) = 0.5403023058681398"
    assert first.stdout.splitlines()[-1] == "['lark']"  # built the cache with lark
    assert second.stdout.splitlines()[-1] == "[]"  # loaded it: no lark, numpy or rich


def test_unwritable_cache_still_parses(tmp_path):
    (tmp_path / "file").write_text("")
    env = {**os.environ, "CGCALC_CACHE_DIR": str(tmp_path / "file" / "sub")}
    p = subprocess.run([sys.executable, "-m", "cgcalc", "diff", "x^2", "--at", "x=3",
                        "--format", "plain"], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "d/dx = 2*x = 6.0"
