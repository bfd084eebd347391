"""Finds ``grammar/`` and builds the LALR parsers, cached.

The ``.lark`` files ship inside the wheel as ``cgcalc/grammar/`` (see pyproject.toml); an editable
install or a plain checkout does not have them inside the package, so the loader falls back to the
repository's ``grammar/`` beside the package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def grammar_dir() -> Path:
    for candidate in (_HERE / "grammar", _HERE.parent / "grammar"):
        if (candidate / "expr.lark").is_file():
            return candidate
    raise FileNotFoundError("cgcalc: grammar/expr.lark not found beside the package")


class _Continuation:
    """Newlines inside ( ) or [ ] continue the statement, as in Python."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        for tok in stream:
            kind = tok.type
            if kind.endswith(("LPAR", "LSQB")):
                depth += 1
            elif kind.endswith(("RPAR", "RSQB")):
                depth = max(0, depth - 1)
            elif kind == "_NL" and depth:
                continue
            yield tok


@lru_cache(maxsize=None)
def parser(name: str, transformer_cls, lexer: str = "basic"):
    """The LALR parser for ``grammar/<name>.lark``, building with ``transformer_cls`` bottom-up."""
    from lark import Lark

    path = grammar_dir() / f"{name}.lark"
    return Lark(
        path.read_text(encoding="utf-8"),
        parser="lalr",
        lexer=lexer,
        transformer=transformer_cls(),
        postlex=_Continuation(),
        maybe_placeholders=True,
        propagate_positions=False,
        import_paths=[grammar_dir()],
        cache=True,
    )
