"""Finds ``grammar/`` and builds the LALR parsers, cached.

The ``.lark`` files ship inside the wheel as ``cgcalc/grammar/`` (see pyproject.toml); an editable
install or a plain checkout does not have them inside the package, so the loader falls back to the
repository's ``grammar/`` beside the package.

The cache. Lark compiles a grammar into LALR tables; its standalone generator
(``lark.tools.standalone``) writes those tables, with the small part of lark that runs them, as
one Python module. cgcalc keeps that module, compiled, in its cache directory
(``$CGCALC_CACHE_DIR``, else ``$XDG_CACHE_HOME/cgcalc``, else ``~/.cache/cgcalc``), named after
the grammar's checksum and checked against the grammar's full text when loaded. Loading it takes
about 12 ms; ``import lark`` takes about 30, more than the rest of a one-shot ``cgcalc diff``.
The first run after an install or a grammar change builds it (with lark, ~0.2 s); when the
directory cannot be written, each run parses with lark itself, which behaves the same.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_CACHE_FORMAT = 1  # bump when what is written to the cache changes


def grammar_dir() -> str:
    for candidate in (os.path.join(_HERE, "grammar"), os.path.join(os.path.dirname(_HERE),
                                                                    "grammar")):
        if os.path.isfile(os.path.join(candidate, "expr.lark")):
            return candidate
    raise FileNotFoundError("cgcalc: grammar/expr.lark not found beside the package")


_DEPTH = {"LPAR": 1, "LSQB": 1, "expr__LSQB": 1, "RPAR": -1, "RSQB": -1}  # net.lark's are prefixed


class _Continuation:
    """Newlines inside ( ) or [ ] continue the statement, as in Python."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        step = _DEPTH.get
        for tok in stream:
            d = step(tok.type)
            if d is not None:
                depth = max(0, depth + d)
            elif depth and tok.type == "_NL":
                continue
            yield tok


class Parser:
    """An LALR parser for one grammar, and ``errors``: the module of the lark runtime that runs
    it, whose ``UnexpectedInput`` (and subclasses) its ``parse`` raises."""

    __slots__ = ("lark", "errors", "transformer")

    def __init__(self, lark, errors, transformer):
        self.lark, self.errors, self.transformer = lark, errors, transformer

    def parse(self, text: str):
        return self.lark.parse(text)


_PARSERS: dict = {}


def parser(name: str, transformer_cls, lexer: str = "basic") -> Parser:
    """The LALR parser for ``grammar/<name>.lark``, calling ``transformer_cls()``'s method of each
    rule's name (or alias) with the rule's children as a list, bottom-up, while it parses."""
    key = (name, transformer_cls, lexer)
    p = _PARSERS.get(key)
    if p is None:
        p = _PARSERS[key] = _load(name, transformer_cls(), lexer)
    return p


def _grammar_text(name: str) -> str:
    """``grammar/<name>.lark``, and every other grammar after it (the files it may import)."""
    gdir = grammar_dir()
    names = [name] + sorted(f[:-5] for f in os.listdir(gdir)
                            if f.endswith(".lark") and f[:-5] != name)
    parts = []
    for n in names:
        with open(os.path.join(gdir, n + ".lark"), encoding="utf-8") as fh:
            parts.append(f"// {n}.lark\n{fh.read()}")
    return "\n".join(parts)


def _load(name, transformer, lexer) -> Parser:
    import zlib

    text = _grammar_text(name)
    fingerprint = f"cgcalc {_CACHE_FORMAT} {lexer}\n{text}"
    path = _cache_path(f"{name}-{lexer}-{zlib.crc32(fingerprint.encode()):08x}")
    module = _load_cached(path, fingerprint) or _write_cached(path, name, lexer, fingerprint)
    if module is not None:
        return Parser(module.Lark_StandAlone(transformer=transformer, postlex=_Continuation()),
                      module, transformer)
    import lark.exceptions

    return Parser(_lark(name, lexer, transformer=transformer, postlex=_Continuation(), cache=True),
                  lark.exceptions, transformer)


def _lark(name, lexer, **options):
    from lark import Lark

    with open(os.path.join(grammar_dir(), name + ".lark"), encoding="utf-8") as fh:
        text = fh.read()
    return Lark(text, parser="lalr", lexer=lexer, maybe_placeholders=True,
                propagate_positions=False, import_paths=[grammar_dir()], **options)


def _cache_path(stem: str) -> str:
    base = os.environ.get("CGCALC_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "cgcalc")
    return os.path.join(base, f"{stem}.{sys.implementation.cache_tag}.pyc")


def _load_cached(path, fingerprint):
    """The compiled standalone parser at ``path`` if it is there, loads, and was built from
    exactly this grammar; else None."""
    if not os.path.isfile(path):
        return None
    from importlib.machinery import SourcelessFileLoader
    from importlib.util import module_from_spec, spec_from_loader

    modname = "cgcalc._parser_" + os.path.basename(path).split(".")[0].replace("-", "_")
    loader = SourcelessFileLoader(modname, path)
    try:
        module = module_from_spec(spec_from_loader(modname, loader))
        loader.exec_module(module)
    except Exception:  # stale, truncated or from another Python: build it again
        return None
    return module if getattr(module, "CGCALC_GRAMMAR", None) == fingerprint else None


def _write_cached(path, name, lexer, fingerprint):
    """Generate the standalone parser with lark, compile it into ``path`` and load it; None when
    the cache directory cannot be written (found out before the work of generating)."""
    import py_compile
    import tempfile

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, src = tempfile.mkstemp(suffix=".py", dir=os.path.dirname(path))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_standalone_source(name, lexer, fingerprint))
        tmp = src + "c"
        py_compile.compile(src, cfile=tmp, doraise=True)
        os.replace(tmp, path)  # atomic: a concurrent run sees the old file or the new one
    except (OSError, py_compile.PyCompileError):
        return None
    finally:
        for leftover in (src, src + "c"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return _load_cached(path, fingerprint)


def _standalone_source(name, lexer, fingerprint) -> str:
    import io

    from lark.tools.standalone import gen_standalone

    out = io.StringIO()
    gen_standalone(_lark(name, lexer), out=out)
    out.write(f"\nCGCALC_GRAMMAR = {fingerprint!r}\n")
    return out.getvalue()
