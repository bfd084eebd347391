"""AST -> DAG. Identical subexpressions are one node; every walk uses an explicit stack.

Nodes are immutable and hash by identity; a :class:`Builder` hash-conses them, so building
``sin(x)`` twice gives the same object and derivative graphs share nodes with the function's graph.
"""

from __future__ import annotations

from fractions import Fraction

from . import ops
from .errors import CgcalcError, suggest
from .parse import CALL, NAME, NUMBER


class Node:
    """An operation applied to input nodes. Immutable by convention; hashes by identity (the
    default), so a deep graph never hashes recursively."""

    __slots__ = ("op", "args", "value", "seq")

    def __init__(self, op: str, args: tuple = (), value=None, seq: int = 0):
        self.op = op
        self.args = args
        self.value = value  # const: the number (int, Fraction or float); var: the name
        self.seq = seq  # creation order in its builder: a stable tie-break for sorting

    def __repr__(self):
        if self.op == "const":
            return f"Node(const {self.value})"
        if self.op == "var":
            return f"Node(var {self.value})"
        return f"Node({self.op}, {len(self.args)} args, #{self.seq})"


class Builder:
    """Makes nodes, one per distinct (op, value, inputs): the hash-consing table.

    ``b.sin(a)``, ``b.mul(a, c)``, ``b.const(2)``, ``b.var("x")`` read like the math; any op in
    the table is available this way.
    """

    def __init__(self):
        self._table: dict = {}

    def make(self, op: str, *args, value=None) -> Node:
        """The node ``op(*args)`` (or the leaf ``op`` with ``value``): ``b.make("sin", a)`` is
        ``b.sin(a)``."""
        if value is not None:
            return self._leaf(op, value)
        return getattr(self, op)(*args)

    def _leaf(self, op, value):
        key = (op, value, type(value))
        node = self._table.get(key)
        if node is None:
            node = Node(op, (), value, len(self._table))
            self._table[key] = node
        return node

    def const(self, v) -> Node:
        t = type(v)
        if t is float:
            if v.is_integer() and abs(v) < 2**53:
                v = int(v)
        elif t is Fraction:
            if v.denominator == 1:
                v = int(v.numerator)
        elif t is bool:
            v = int(v)
        return self._leaf("const", v)

    def var(self, name: str) -> Node:
        return self._leaf("var", name)

    def shape_of(self, node):
        """Expressions are numbers: every shape is () (network files know better)."""
        return ()



def _maker(name):
    def make(self, *args):
        key = (name, *args)  # nodes hash by identity
        node = self._table.get(key)
        if node is None:
            node = Node(name, args, None, len(self._table))
            self._table[key] = node
        return node
    make.__name__ = name
    return make


# b.sin(a), b.mul(a, c), ...: one method per op in the table
for _name in ops.OPS:
    if _name not in ("const", "var"):
        setattr(Builder, _name, _maker(_name))


def topological(roots, skip=None) -> list[Node]:
    """Every node reachable from ``roots``, inputs before the nodes that use them (depth first, in
    argument order). No recursion: the stack holds each open node with an iterator over its inputs.

    Nodes whose ids are in ``skip`` (values already known, say) are left out and not entered."""
    order: list[Node] = []
    seen: set[Node] = set()  # nodes hash by identity
    skip = skip or ()
    append, add = order.append, seen.add
    for root in roots:
        if root in seen or id(root) in skip:
            continue
        add(root)
        stack = [(root, iter(root.args))]
        while stack:
            node, rest = stack[-1]
            for a in rest:
                if a not in seen and (not skip or id(a) not in skip):
                    add(a)
                    stack.append((a, iter(a.args)))
                    break
            else:
                stack.pop()
                append(node)
    return order


class Graph:
    """A function as a DAG: its output node, nodes in topological order, names and positions."""

    def __init__(self, builder, output, *, source="", filename=None, names=None, where=None,
                 variables=None, output_name=None):
        self.builder = builder
        self.output = output
        self.source = source
        self.filename = filename
        self.order = topological([output])
        self.where = where or {}
        user = names or {}
        # variables in the order they first appear in the text
        vars_in_graph = {n.value: n for n in self.order if n.op == "var"}
        ordered = [v for v in (variables or []) if v in vars_in_graph]
        ordered += sorted(set(vars_in_graph) - set(ordered))
        self.variables: tuple[str, ...] = tuple(ordered)
        self.var_nodes = {v: vars_in_graph[v] for v in self.variables}
        self.names = self._name_nodes(user, output_name)
        self.user_names = {k: v for k, v in self.names.items() if k in user}

    def _name_nodes(self, user, output_name):
        """User names stay; the output is ``f`` unless named; other operations get n1, n2, ..."""
        names: dict[int, str] = {}
        taken = set(self.variables) | set(user.values()) | set(ops.CONSTANTS)
        for n in self.order:
            if n.op == "var":
                names[id(n)] = n.value
            elif id(n) in user:
                names[id(n)] = user[id(n)]
        if id(self.output) not in names and self.output.op != "const":
            for candidate in (output_name, "f", "out", "output"):
                if candidate and candidate not in taken:
                    names[id(self.output)] = candidate
                    taken.add(candidate)
                    break
        k = 0
        for n in self.order:
            if id(n) in names or n.op == "const":
                continue
            k += 1
            while f"n{k}" in taken:
                k += 1
            names[id(n)] = f"n{k}"
        return names

    def name(self, node) -> str | None:
        return self.names.get(id(node))

    @property
    def program(self) -> str:
        """The source on one line: comments and blank lines dropped, statements joined by ';'."""
        lines = [ln.split("#", 1)[0].strip() for ln in self.source.splitlines()]
        return "; ".join(ln for ln in lines if ln)

    def consumers(self) -> dict[int, int]:
        count: dict[int, int] = {}
        for n in self.order:
            for a in n.args:
                count[id(a)] = count.get(id(a), 0) + 1
        return count


def _number(text: str):
    if text.isdigit():
        return int(text)
    return float(text)


def build(stmts, *, source="", filename=None, builder=None, declared=None,
          arrays=False) -> Graph:
    """Turn parsed statements into a :class:`Graph`. Raises CgcalcError naming the place.

    For a network file, ``declared`` maps the declared names (inputs, targets, params) to their
    nodes, any other free name is an error, and ``arrays`` allows the array operations."""
    b = builder or Builder()
    bound: dict[str, Node] = {}
    bound_at: dict[str, object] = {}
    names: dict[int, str] = {}
    where: dict[int, tuple] = {}
    first_seen_vars: list[str] = []
    seen_vars: set[str] = set()

    def fail(msg, ast, hint=None):
        return CgcalcError(msg, source=source, filename=filename, line=ast.line,
                           column=ast.column, width=ast.width, hint=hint)

    all_bound = {s.name: s for s in stmts if s.name}
    scope = _Scope(b, bound, all_bound, declared, arrays, fail, first_seen_vars, seen_vars)

    last = None
    for stmt in stmts:
        if declared and stmt.name in declared:
            raise fail(f"{stmt.name!r} is declared above and cannot be bound again", stmt)
        node = _build_expr(stmt.expr, scope, where)
        if stmt.name:
            if stmt.name in bound:
                raise fail(f"{stmt.name!r} is bound twice (first on line "
                           f"{bound_at[stmt.name].line})", stmt)
            if stmt.name in ops.OPS or stmt.name in ops.ALIASES:
                raise fail(f"{stmt.name!r} is a function name and cannot be bound", stmt)
            bound[stmt.name] = node
            bound_at[stmt.name] = stmt
            if id(node) not in names and node.op not in ("var", "const"):
                names[id(node)] = stmt.name
        last = node
    g = Graph(b, last, source=source, filename=filename, names=names, where=where,
              variables=first_seen_vars, output_name=stmts[-1].name)
    g.bound = bound
    return g


class _Scope:
    """What a name in an expression means: bound, declared, a constant, or a new variable."""

    def __init__(self, b, bound, all_bound, declared, arrays, fail, first_seen, seen):
        self.b, self.bound, self.all_bound, self.declared = b, bound, all_bound, declared
        self.arrays, self.fail, self.first_seen, self.seen = arrays, fail, first_seen, seen

    def name(self, ast):
        name = ast.text
        if name in self.bound:
            return self.bound[name]
        if name in self.all_bound:
            raise self.fail(f"{name!r} is used before it is bound (on line "
                            f"{self.all_bound[name].line})", ast)
        if self.declared is not None and name in self.declared:
            node = self.declared[name]
        elif name in ops.CONSTANTS:
            return self.b.const(ops.CONSTANTS[name])
        elif name in ops.OPS and ops.OPS[name].callable or name in ops.ALIASES:
            raise self.fail(f"{name!r} is a function: call it as {name}(...)", ast)
        elif self.declared is not None:
            near = suggest(name, list(self.declared) + list(self.bound))
            raise self.fail(f"unknown name {name!r}: not declared or bound above", ast,
                            hint=f"did you mean {near}?" if near else
                            "declare it with input, target or param")
        else:
            node = self.b.var(name)
        if name not in self.seen:
            self.seen.add(name)
            self.first_seen.append(name)
        return node

    def operation(self, ast, kind, args):
        o = ops.OPS.get(kind)
        if o is not None and o.arrays and not self.arrays:
            raise self.fail(f"{_SPELLING.get(kind, kind + '()')} works on arrays, in network "
                            f"files (.net); here every value is a number", ast)
        return self.b.make(kind, *args)


_SPELLING = {"matmul": "'@'", "transpose": "transpose (')", "join": "[...]"}


def _build_expr(root, scope, where):
    """Post-order over the AST (a tree) with an explicit stack; the nodes built for the inputs
    wait on a value stack until their operation is built."""
    built: list[Node] = []
    stack = [(root, iter(root.args))]
    while stack:
        ast, rest = stack[-1]
        for a in rest:
            if a.args:
                stack.append((a, iter(a.args)))
                break
            built.append(_build_one(a, (), scope, where))
        else:
            stack.pop()
            n = len(ast.args)
            args = built[-n:] if n else ()
            if n:
                del built[-n:]
            built.append(_build_one(ast, args, scope, where))
    return built[0]


def _build_one(ast, args, scope, where):
    kind = ast.kind
    if kind == NUMBER:
        node = scope.b.const(_number(ast.text))
    elif kind == NAME:
        node = scope.name(ast)
    elif kind == CALL:
        node = _call(ast, args, scope)
    else:
        node = scope.operation(ast, kind, args)
    where.setdefault(id(node), (ast.line, ast.column, ast.width))
    return node


def _call(ast, args, scope):
    b, fail = scope.b, scope.fail
    name = ast.text
    if name == "pow":
        _check_arity(ast, args, 2, 2, fail)
        return b.pow(*args)
    opname = ops.ALIASES.get(name, name)
    o = ops.OPS.get(opname)
    if o is None or not o.callable:
        near = suggest(name, ops.callable_names() + ["pow"])
        hint = f"did you mean {near}?" if near else None
        raise fail(f"unknown function {name!r}", ast, hint=hint)
    lo, hi = ops.arity_of_call(name)
    _check_arity(ast, args, lo, hi, fail)
    if opname == "log" and len(args) == 2:
        return b.div(b.log(args[0]), b.log(args[1]))
    return scope.operation(ast, opname, args)


def _check_arity(ast, args, lo, hi, fail):
    n = len(args)
    if lo <= n <= hi:
        return
    want = f"{lo}" if lo == hi else f"{lo} or {hi}"
    raise fail(f"{ast.text}() takes {want} argument{'s' if hi != 1 else ''}, "
               f"got {n}", ast)


def parse(text: str, filename: str | None = None) -> Graph:
    """Text -> Graph: the two stages every command starts with."""
    from .parse import parse_program

    return build(parse_program(text, filename), source=text, filename=filename)
