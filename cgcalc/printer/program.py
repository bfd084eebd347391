"""Whole programs: a large shared graph prints as statements that bind its shared parts
(``t1 = ...; t2 = ...; expr``) instead of as exponentially long text."""

from __future__ import annotations

from collections import Counter
from itertools import chain
from operator import attrgetter

from .. import ops
from ..walk import topological
from .expression import to_text
from .styles import PLAIN, _Style

# -- whole programs: large shared graphs print as statements ------------------------------------

_ARGS = attrgetter("args")


def inline_size(root, memo: dict, cap: int) -> int:
    """Printed length of ``root`` fully inlined, capped at ``cap``; ``memo`` (node -> size) is
    shared between calls, so sizing every edge of a deep graph stays linear in all."""
    if root not in memo:
        _sizes(topological([root], skip=memo), cap, memo)
    return memo[root]


def _sizes(order, cap, size):
    """Printed length of each node if fully inlined, capped at ``cap`` (a DP over the DAG)."""
    for n in order:
        s = 2 + len(n.op) if n.args else len(str(n.value))
        for a in n.args:
            s += size[a] + 1
            if s > cap:
                s = cap
                break
        size[n] = s
    return size


def program_text(root, *, names=None, reserved=(), limit=600, style: _Style = PLAIN,
                 atoms=None) -> str:
    """``root`` inline when short; otherwise statements binding the shared subexpressions.

    ``names`` suggests a name for a node (the user's own names); ``reserved`` are names the
    statements must not take (the input variables), a set: a caller printing many derivatives
    makes it once. ``atoms`` (node -> name) print as their names, inputs not entered; only
    the atoms this root meets are looked at, so printing many roots in the names of one large
    graph costs each root its own size.
    """
    atoms = atoms or {}
    # an atom prints as its name: its inputs are not entered, it is not counted as shared (a
    # root that is one is entered all the same)
    order = topological([root], skip=atoms) if root not in atoms else \
        [*topological(root.args, skip=atoms), root]
    met = {a: atoms[a] for n in order for a in n.args if a in atoms} if atoms else {}
    named = {n: len(name) for n, name in met.items()}
    # inlined, each node of the order is printed once at least, a character at least: a longer
    # order cannot fit, without sizing it
    if len(order) <= limit and _sizes(order, limit + 1, dict(named))[root] <= limit:
        return to_text(root, atoms, style)
    if root in atoms:
        met[root] = atoms[root]
    atoms = met  # what the statements print in: the atoms met, and the names bound below
    uses = Counter(chain.from_iterable(map(_ARGS, order)))  # node -> times it is an input
    names = names or {}
    suggested = None  # the names ``names`` suggests: none is taken by a statement of ours
    made: set = set()
    bound = []
    k = 0
    shown: dict = named  # printed length, counting bound inputs as their names
    for n in order:
        args = n.args
        if not args:
            shown[n] = len(str(n.value))
            continue
        if len(args) == 1:  # f(a): the common case
            s = shown[n] = 3 + len(n.op) + shown[args[0]]
        else:
            s = 2 + len(n.op)
            for a in args:
                s += shown[a] + 1
            shown[n] = s
        if s <= 12 and s < limit or n is root or n in atoms:
            continue  # short and not the limit: left inline, used once or many times
        if s >= limit or uses[n] >= 2:
            name = names.get(n)
            if name is None:
                if suggested is None:  # (made once per call, and only for a long one)
                    suggested = set(names.values())
                k += 1
                while (name := f"t{k}") in reserved or name in ops.CONSTANTS or \
                        name in ops.OPS or name in suggested or name in made:
                    k += 1
                made.add(name)
            bound.append((name, n))
            shown[n] = len(name)
    lines = []
    for name, n in bound:
        text = to_text(n, atoms, style)
        atoms[n] = name
        lines.append(f"{style.name(name)} = {text}" if not style.latex
                     else f"{style.name(name)} &= {text}")
    lines.append(to_text(root, atoms, style))
    return "; ".join(lines) if not style.latex else " \\\\\n".join(lines)
