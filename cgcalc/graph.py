"""AST -> DAG (or text -> DAG, built while parsing: :func:`build_direct`). Identical
subexpressions are one node; every walk uses an explicit stack.

Nodes are immutable and hash by identity; a :class:`Builder` hash-conses them, so building
``sin(x)`` twice gives the same object and derivative graphs share nodes with the function's graph.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from itertools import repeat

from . import ops
from .errors import CgcalcError, lone_cr_as_lf, suggest
from .parse import CALL, INDEX, NAME, NUMBER
from .walk import topological


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


_new = object.__new__
_OP_NAMES: dict = {}  # builder class -> (ops made as plain nodes, ops its MAKERS make)


def _op_names(cls):
    """The op table's names a builder of ``cls`` has as attributes: those its class does not
    define (``const``, ``var``), split by whether :attr:`Builder.MAKERS` makes them."""
    names = [op for op in ops.OPS if not hasattr(cls, op)]
    names = _OP_NAMES[cls] = ([op for op in names if op not in cls.MAKERS],
                              [op for op in names if op in cls.MAKERS])
    return names


class Builder:
    """Makes nodes, one per distinct (op, value, inputs): the hash-consing table.

    ``b.node(op, *args)`` is the one constructor. ``b.make(op, *args)`` goes through
    :attr:`MAKERS` first, the explicit table of the ops a builder makes its own way (a network's
    builder turns ``rows(A)`` of a batch into the name ``m``); every other op is a plain node.
    ``b.sin(a)``, ``b.mul(a, c)`` read like the math in the op table's rules: an attribute that
    names an op is ``make`` of that op.
    """

    MAKERS: dict = {}  # op -> maker(builder, *args), for the ops this builder makes specially
    ALL_NUMBERS = True  # every node's shape is () (a subclass with a shape_of of its own: False)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.ALL_NUMBERS = cls.shape_of is Builder.shape_of

    def __init__(self):
        self._table: dict = {}
        self._made: list = []  # every node, in the order made (a node's seq is its place)
        self.notes: dict = {}  # what an op's rule works out once per node: (rule, node) -> it
        # b.cos(a) is make("cos", a): for each op of the table, the constructor with the op
        # filled in, or the op's maker (attributes of the instance, so Python's attribute
        # caches work on builders: a __getattr__ would turn them off); the names, per class
        cls = type(self)
        plain, made = _OP_NAMES.get(cls) or _op_names(cls)
        self.__dict__.update(zip(plain, map(partial, repeat(self.node), plain)))
        for op in made:
            setattr(self, op, partial(self.MAKERS[op], self))

    def node(self, op: str, *args) -> Node:
        """The node ``op(*args)``: the one made before, if any (nodes hash by identity, so the
        key is shallow)."""
        key = (op, *args)
        node = self._table.get(key)
        if node is None:
            made = self._made
            node = _new(Node)  # Node(op, args, None, seq), without a call of __init__ (every
            # slot is set here: tests/test_graph.py checks it)
            node.op, node.args, node.value, node.seq = op, args, None, len(made)
            self._table[key] = node
            made.append(node)
        return node

    def count(self) -> int:
        """How many nodes have been made (not named ``size``: that is an op)."""
        return len(self._made)

    def made_since(self, size: int) -> list:
        """The nodes made after the builder had ``size`` of them."""
        return self._made[size:]

    def make(self, op: str, *args) -> Node:
        maker = self.MAKERS.get(op)
        return self.node(op, *args) if maker is None else maker(self, *args)

    def _leaf(self, op, value):
        key = (op, value, type(value))
        node = self._table.get(key)
        if node is None:
            node = Node(op, (), value, len(self._made))
            self._table[key] = node
            self._made.append(node)
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


class Graph:
    """A function as a DAG: its output node, nodes in topological order, names and positions."""

    def __init__(self, builder, output, *, source="", filename=None, names=None, where=None,
                 variables=None, output_name=None, bound=None, order=None):
        self.builder = builder
        self.bound = bound or {}  # name -> node, for each statement that names one
        self.output = output
        self.source = source
        self.filename = filename
        # ``order``: the caller's, where it knows it is topological([output]) (see build_direct)
        self.order = topological([output]) if order is None else order
        self.where = where or {}
        user = names or {}
        # variables in the order they first appear in the text
        vars_in_graph = {n.value: n for n in self.order if n.op == "var"}
        ordered = [v for v in (variables or []) if v in vars_in_graph]
        ordered += sorted(set(vars_in_graph) - set(ordered))
        self.variables: tuple[str, ...] = tuple(ordered)
        self.var_nodes = {v: vars_in_graph[v] for v in self.variables}
        self._user, self._output_name = user, output_name
        self._names = None

    @property
    def names(self) -> dict:
        """node -> its name in displays (made when first asked: the API never asks)."""
        if self._names is None:
            self._names = self._name_nodes(self._user, self._output_name)
        return self._names

    @property
    def user_names(self) -> dict:
        """The names the program's statements gave, as :attr:`names` has them (a variable's
        is its own), in the graph's order: without naming every other node."""
        user = self._user
        if not user:
            return {}
        if self._names is not None:  # named already (a network names its inputs there too)
            return {k: v for k, v in self._names.items() if k in user}
        return {n: n.value if n.op == "var" else user[n] for n in self.order if n in user}

    def _name_nodes(self, user, output_name):
        """User names stay; the output is ``f`` unless named; other operations get n1, n2, ..."""
        names: dict = {}  # node -> name
        taken = set(self.variables) | set(user.values()) | set(ops.CONSTANTS)
        # a user's n_1 prints as n_{1} in LaTeX, as n1 would: n1 is taken too
        taken.update(t.replace("_", "", 1) for t in list(taken)
                     if t.startswith("n_") and t[2:].isdigit())
        for n in self.order:
            if n.op == "var":
                names[n] = n.value
            elif n in user:
                names[n] = user[n]
        if self.output not in names and self.output.op != "const":
            for candidate in (output_name, "f", "out", "output"):
                if candidate and candidate not in taken:
                    names[self.output] = candidate
                    taken.add(candidate)
                    break
        k = 0
        for n in self.order:
            if n in names or n.op == "const":
                continue
            k += 1
            while f"n{k}" in taken:
                k += 1
            names[n] = f"n{k}"
        return names

    def name(self, node) -> str | None:
        return self.names.get(node)

    @property
    def program(self) -> str:
        """The source on one line: comments and blank lines dropped, statements joined by ';'."""
        lines = [ln.split("#", 1)[0].strip() for ln in self.source.splitlines()]
        return "; ".join(ln for ln in lines if ln)



def _number(text: str):
    """A literal's value (an exact int where it is a whole number), or None when it is too large
    to be a float."""
    if text.isdigit():
        if len(text) > 400:
            return None
        v = int(text)
        try:
            float(v)  # 2^1024 - 1 is an int, but rounds past the largest float
        except OverflowError:
            return None
        return v
    v = float(text)
    return v if v != float("inf") else None


class Program:
    """Statements built into nodes: each bound name's node, the names statements gave to nodes,
    where each node was first written, the input variables in order of appearance, and the
    last statement's node (the output of an expression)."""

    __slots__ = ("bound", "names", "where", "variables", "last", "last_name")

    def __init__(self, bound, names, where, variables, last, last_name):
        self.bound, self.names, self.where = bound, names, where
        self.variables, self.last, self.last_name = variables, last, last_name


def bind(stmts, *, source="", filename=None, builder=None, declared=None,
         arrays=False) -> Program:
    """Build parsed statements into nodes. Raises CgcalcError naming the place.

    For a network file, ``declared`` maps the declared names (inputs, targets, params) to their
    nodes, any other free name is an error, and ``arrays`` allows the array operations."""
    binder = _Binder(builder or Builder(), {s.name: s for s in stmts if s.name}, source,
                     filename, declared, arrays)
    for stmt in stmts:
        binder.check_name(stmt)
        binder.statement(stmt, build_expr(stmt.expr, binder.scope, binder.where))
    return binder.program()


class _Binder:
    """What binding statements keeps: the bound names, where each node was first written, the
    input variables in order of appearance; :meth:`statement` takes one statement's node."""

    def __init__(self, b, all_bound, source, filename, declared, arrays):
        self.source, self.filename, self.declared = source, filename, declared
        self.bound: dict[str, Node] = {}
        self.bound_at: dict[str, object] = {}
        self.names: dict = {}  # node -> the name a statement gave it
        self.where: dict = {}  # node -> (line, column, width) where it was first written
        self.first_seen: list[str] = []
        self.seen: set[str] = set()
        self.scope = Scope(b, self.bound, all_bound, declared, arrays, self.fail,
                           self.first_seen, self.seen)
        self.last = self.last_name = None

    def fail(self, msg, ast, hint=None):
        return CgcalcError(msg, source=self.source, filename=self.filename, line=ast.line,
                           column=ast.column, width=ast.width, hint=hint)

    def check_name(self, stmt):
        """The statement's name, if any, may be bound here (raised before its expression)."""
        name, declared = stmt.name, self.declared
        if not name:
            return
        if declared and name in declared:
            raise self.fail(f"{name!r} is declared above and cannot be bound again", stmt)
        if name in ops.OPS or name in ops.ALIASES:
            raise self.fail(f"{name!r} is a function name and cannot be bound", stmt)
        if name in ops.CONSTANTS:
            raise self.fail(f"{name!r} is a constant ({ops.CONSTANTS[name]!r}) and cannot be "
                            f"bound", stmt)
        if name in self.bound:
            raise self.fail(f"{name!r} is bound twice (first on line "
                            f"{self.bound_at[name].line})", stmt)

    def statement(self, stmt, node):
        name = stmt.name
        if name:
            self.bound[name] = node
            self.bound_at[name] = stmt
            if node not in self.names and node.op not in ("var", "const"):
                self.names[node] = name
        self.last, self.last_name = node, name

    def program(self) -> Program:
        return Program(self.bound, self.names, self.where, self.first_seen, self.last,
                       self.last_name)


def build(stmts, *, source="", filename=None, builder=None) -> Graph:
    """Parsed statements -> the :class:`Graph` of an expression (its output: the last one)."""
    b = builder or Builder()
    return _graph(bind(stmts, source=source, filename=filename, builder=b), b, source, filename)


def _graph(p: Program, b, source, filename, order=None) -> Graph:
    return Graph(b, p.last, source=source, filename=filename, names=p.names, where=p.where,
                 variables=p.variables, output_name=p.last_name, bound=p.bound, order=order)


# operators that are always a plain node of their inputs in an expression (never array ops)
_PLAIN = {"add", "sub", "mul", "div", "pow", "neg"} - set(ops.ARRAY_OPS)


class _Unsure(Exception):
    """Building while parsing met something the two stages would report differently."""


def build_direct(text: str, filename=None) -> Graph | None:
    """The :class:`Graph` of ``text`` built while it is parsed (cgcalc/precedence.py makes each
    node as it reduces, no AST in between), or None wherever the two stages, parse then
    :func:`bind`, should decide: input the fast parser does not know, and every error (the
    stages find a syntax error before a name's, and word it the same way as always). A name
    used before a later statement binds it is seen only at that statement: None then too."""
    from .precedence import parse_fast
    from .syntax import Ast, Pos, Statement

    b = Builder()
    binder = _Binder(b, {}, text, filename, None, False)
    scope, where, bound = binder.scope, binder.where, binder.bound
    node_of = b.node  # a plain Builder: no op is made its own way (no MAKERS)
    free: dict = {}  # a name not bound -> its node (an input variable, or a constant)
    calls: dict = {}  # (a function's name, how many arguments) -> its plain op, or None
    statements = []  # one entry per statement ended
    rewritten = []  # calls built as something else (log(a, b)): their nodes' order is their own

    def make(kind, args, word, line, column, width):
        # operators, plain calls and names take the short way; the rest, as bind() does
        if kind in _PLAIN:
            node = node_of(kind, *args)
        elif kind == CALL:
            key = (word, len(args))
            op = calls.get(key, False)
            if op is False:
                op = calls[key] = _plain_call(word, len(args))
            if op is None:  # rewritten (log(a, b)), or an error: as bind() builds it
                rewritten.append(word)
                return _build_one(Ast(kind, (), word, line, column, width), args, scope, where)
            node = node_of(op, *args)
        elif kind == NAME:
            node = bound.get(word) or free.get(word)
            if node is None:
                node = free[word] = scope.name(Ast(kind, (), word, line, column, width))
        else:
            return _build_one(Ast(kind, (), word, line, column, width), args, scope, where)
        if node not in where:
            where[node] = (line, column, width)
        return node

    def statement(name, node):
        if name is None:
            stmt = Statement(None, None, Pos(0, 0))
        else:
            stmt = Statement(name[0], None, Pos(name[1], name[2], name[0]))
            if name[0] in binder.seen:  # used as an input above: bind() says where
                raise _Unsure
            binder.check_name(stmt)
        binder.statement(stmt, node)
        statements.append(name)

    try:
        if parse_fast(text, make, statement) is None or binder.last is None:
            return None
    except (CgcalcError, _Unsure):
        return None
    # One statement of plain calls and operators: every node made is in its expression, made
    # inputs first, left to right, each at its first use: the order a walk from the output
    # gives, without the walk (tests/test_graph.py compares every graph built here with the
    # two stages' own).
    order = b.made_since(0) if len(statements) == 1 and not rewritten else None
    return _graph(binder.program(), b, text, filename, order)


class Scope:
    """What a name in an expression means: bound, declared, a constant, or a new variable.
    A subclass may build some expressions whole (:meth:`whole`): a recurrent network's time
    steps ``h[t-1]`` and sums over time ``sum_t(...)`` (cgcalc/net/unroll.py)."""

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

    def whole(self, ast) -> bool:
        """True for an expression this scope builds itself, parts and all."""
        return ast.kind == INDEX

    def build_whole(self, ast, where):
        raise self.fail("h[t] picks a time step: that is for recurrent networks (a .net file "
                        "with a 'steps T' line)", ast)

    def operation(self, ast, kind, args):
        if not self.arrays and kind in ops.ARRAY_OPS:
            raise self.fail(f"{_SPELLING.get(kind, kind + '()')} works on arrays, in network "
                            f"files (.net); here every value is a number", ast)
        return self.b.make(kind, *args)


_SPELLING = {"matmul": "'@'", "transpose": "transpose (')", "join": "[...]"}


def build_expr(root, scope, where):
    """Post-order over the AST (a tree) with an explicit stack; the nodes built for the inputs
    wait on a value stack until their operation is built."""
    if scope.whole(root):
        return _build_one(root, (), scope, where)
    built: list[Node] = []
    push = built.append
    stack = [(root, iter(root.args))]
    whole = scope.whole
    while stack:
        ast, rest = stack[-1]
        for a in rest:
            if a.args and not whole(a):
                stack.append((a, iter(a.args)))
                break
            push(_build_one(a, (), scope, where))
        else:
            stack.pop()
            n = len(ast.args)
            if n:
                args = tuple(built[-n:])
                del built[-n:]
            else:
                args = ()
            push(_build_one(ast, args, scope, where))
    return built[0]


def _build_one(ast, args, scope, where):
    kind = ast.kind
    if kind == NAME:
        node = scope.name(ast)
    elif kind == NUMBER:
        value = _number(ast.text)
        if value is None:
            raise scope.fail("number too large for a float (the largest is about 1.8e308)", ast)
        node = scope.b.const(value)
    elif scope.whole(ast):
        node = scope.build_whole(ast, where)
    elif kind == CALL:
        node = _call(ast, args, scope)
    else:
        node = scope.operation(ast, kind, args)
    if node not in where:
        where[node] = (ast.line, ast.column, ast.width)
    return node


def _call(ast, args, scope):
    """``name(args)``: the op it names, its arity checked."""
    name = ast.text
    known = _known_call(name)
    if known is None:
        near = suggest(name, ops.callable_names())
        hint = f"did you mean {near}?" if near else None
        raise scope.fail(f"unknown function {name!r}", ast, hint=hint)
    opname, lo, hi = known
    if not lo <= len(args) <= hi:
        _check_arity(ast, args, lo, hi, scope.fail)
    if (opname, len(args)) in _REWRITTEN:  # log(a, base): the change of base, as written
        b = scope.b
        return b.div(b.log(args[0]), b.log(args[1]))
    return scope.operation(ast, opname, args)


def _known_call(name):
    """(op, least, most arguments) of a call of ``name``, None for no function (looked up once
    per name: generated programs call the same few functions by the hundred thousand)."""
    known = _CALLS.get(name)
    if known is None:
        opname = ops.ALIASES.get(name, name)
        o = ops.OPS.get(opname)
        if o is None or not o.callable:
            return None  # not kept: the names kept are the op table's, however many are tried
        known = _CALLS[name] = (opname, *ops.arity_of_call(name))
    return known


def _plain_call(name, n):
    """The op of which a call of ``name`` with ``n`` arguments is a plain node in an
    expression, or None where :func:`_call` decides (no such function, a wrong count, a call
    rewritten, an array op)."""
    known = _known_call(name)
    if known is None or not known[1] <= n <= known[2] or (known[0], n) in _REWRITTEN or \
            known[0] in ops.ARRAY_OPS:
        return None
    return known[0]


_CALLS: dict = {}  # a function's name -> (its op, least and most arguments)
_REWRITTEN = {("log", 2)}  # calls that build something else than their op of their arguments


def _check_arity(ast, args, lo, hi, fail):
    n = len(args)
    if lo <= n <= hi:
        return
    want = f"{lo}" if lo == hi else f"{lo} or {hi}"
    raise fail(f"{ast.text}() takes {want} argument{'s' if hi != 1 else ''}, "
               f"got {n}", ast)


def parse(text: str, filename: str | None = None) -> Graph:
    """Text -> Graph: parse, then build (both at once, where the fast parser knows the text)."""
    from .parse import parse_program

    text = lone_cr_as_lf(text)
    graph = build_direct(text, filename)
    if graph is not None:
        return graph
    return build(parse_program(text, filename), source=text, filename=filename)
