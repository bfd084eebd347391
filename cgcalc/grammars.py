"""Finds ``grammar/`` and builds the LALR parsers, cached.

The ``.lark`` files ship inside the wheel as ``cgcalc/grammar/`` (see pyproject.toml); an editable
install or a plain checkout does not have them inside the package, so the loader falls back to the
repository's ``grammar/`` beside the package.

The cache. Lark compiles a grammar into LALR tables (~0.2 s); cgcalc keeps the tables, as
plain lists and dicts written with marshal, in its cache directory (``$CGCALC_CACHE_DIR``, else
``$XDG_CACHE_HOME/cgcalc``, else ``~/.cache/cgcalc``), named after the grammar's checksum and
checked against the grammar's full text when read, and runs them with cgcalc/lalr.py: a run that
parses well never imports lark (its runtime costs tens of milliseconds at every start). The
first run after an install or a grammar change builds them; a cache directory that cannot be
written only means every run builds them. Input that does not parse goes to lark itself, for the
error message and its place.
"""

from __future__ import annotations

import os
import re
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


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
    depths, dropped = _DEPTH, "_NL"  # what cgcalc/lalr.py's lexer does itself, in its loop

    def process(self, stream):  # lark's postlexer interface (lark parses the errors)
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
    """The LALR parser for one grammar. ``parse(text, transformer_cls)`` runs the cached tables
    with a new ``transformer_cls()``; input they do not parse is handed to lark itself, whose
    ``UnexpectedInput`` (``errors`` is lark's module of them) names the place. Without tables
    (a lark whose internals cgcalc/lalr.py cannot read) lark parses everything."""

    __slots__ = ("name", "lexer", "tables")

    def __init__(self, name, lexer, tables):
        self.name, self.lexer, self.tables = name, lexer, tables

    def parse(self, text: str, transformer_cls):
        from .lalr import NoParse

        if self.tables is not None:
            try:
                return self.tables.parse(text, transformer_cls())
            except (NoParse, LookupError, TypeError, re.error):  # not in the language, or
                pass  # tables read from the cache that do not work: lark decides
        # lark raises the error, with its place (or, should the two ever differ, parses)
        return _lark(self.name, self.lexer, transformer=transformer_cls(),
                     postlex=_Continuation()).parse(text)

    @property
    def errors(self):
        import lark.exceptions

        return lark.exceptions


_PARSERS: dict = {}


def parser(name: str, lexer: str = "basic") -> Parser:
    """The parser for ``grammar/<name>.lark``: its transformer's method of each rule's name (or
    alias) is called with the rule's children as a list, bottom-up, while it parses."""
    key = (name, lexer)
    p = _PARSERS.get(key)
    if p is None:
        p = _PARSERS[key] = _load(name, lexer)
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


def _load(name, lexer) -> Parser:
    import zlib

    from .lalr import FORMAT, Tables

    fingerprint = f"cgcalc {FORMAT} {lexer}\n{_grammar_text(name)}"
    path = _cache_path(f"{name}-{lexer}-{zlib.crc32(fingerprint.encode()):08x}")
    tables = _read_cached(path, fingerprint) if path else None
    if tables is None:
        try:
            tables = _build(name, lexer, fingerprint)
        except Exception:  # noqa: BLE001 - a lark whose tables lalr.py cannot read: lark parses
            return Parser(name, lexer, None)
        if path:
            _write_cached(path, tables)
    return Parser(name, lexer, Tables(tables, postlex=_Continuation()))


def _lark(name, lexer, **options):
    """lark's LALR parser of ``grammar/<name>.lark``. Never with lark's ``cache=True``: that
    pickles into the shared temporary directory under a predictable name and unpickles whatever
    another user may have put there."""
    from lark import Lark

    with open(os.path.join(grammar_dir(), name + ".lark"), encoding="utf-8") as fh:
        text = fh.read()
    return Lark(text, parser="lalr", lexer=lexer, maybe_placeholders=True,
                propagate_positions=False, import_paths=[grammar_dir()], **options)


def _build(name, lexer, fingerprint) -> dict:
    from .lalr import build

    tables = build(_lark(name, lexer), always_accept=_Continuation.always_accept)
    tables["grammar"] = fingerprint
    return tables


def _cache_path(stem: str) -> str | None:
    """Where the tables of ``stem`` are kept; None without a home directory to keep them in
    (no HOME, or one that does not exist: a cache is never made in a directory it invents)."""
    base = os.environ.get("CGCALC_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        if not xdg:
            home = os.path.expanduser("~")
            if home == "~" or not os.path.isdir(home):
                return None
            xdg = os.path.join(home, ".cache")
        base = os.path.join(xdg, "cgcalc")
    # marshal's format may change between Pythons: the interpreter's tag is in the name
    return os.path.join(base, f"{stem}.{sys.implementation.cache_tag}.marshal")


MAX_TABLES = 4 << 20  # bytes: the tables of cgcalc's grammars are ~20 KB
_MAGIC = b"cgcalc-lalr\n"


def _read_cached(path, fingerprint):
    """The tables at ``path`` if they are there, are this user's own and no one else can write
    them, have the checksum they were written with, load, have the shape the runner needs, and
    were built from exactly this grammar; else None (and they are built again). The file is read
    as untrusted input: marshal never runs code, the size is bounded before reading, and any
    failure of any kind means "not cached"."""
    import hashlib
    import marshal
    import stat

    try:  # a link is not followed: the file must be the cache's own
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if (not stat.S_ISREG(st.st_mode) or st.st_size > MAX_TABLES
                    or (hasattr(os, "getuid") and st.st_uid != os.getuid())
                    or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                return None
            data = fh.read(MAX_TABLES + 1)
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) <= head or not data.startswith(_MAGIC):
        return None
    body = data[head:]
    if hashlib.sha256(body).digest() != data[len(_MAGIC):head]:
        return None
    try:
        tables = marshal.loads(body)
    except Exception:  # noqa: BLE001 - damaged in any way (MemoryError included): rebuild
        return None
    if not isinstance(tables, dict) or tables.get("grammar") != fingerprint:
        return None
    from .lalr import valid_tables

    return tables if valid_tables(tables) else None


def _write_cached(path, tables) -> None:
    """Writes the tables atomically (a concurrent run sees the old file or the new one) in a
    directory only this user can enter; a cache directory that cannot be written only means the
    next run builds them again."""
    import hashlib
    import marshal
    import tempfile

    body = marshal.dumps(tables)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
