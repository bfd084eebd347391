"""The walk that makes a graph canonical: each node once, its inputs first, memoised; the
dispatch of each op to the rules of sums, products and powers (cgcalc/simplify/sums.py,
products.py, powers.py); atoms kept opaque; undefined parts kept whole; and the order of
terms and factors.

An *undefined* part is a constant whose value is not a finite number: ``0^-1`` (1/0),
``log(0)``, ``sqrt(-1)``, ``exp(1000)``, ``1e308*10``; and any node made of one. The rules of
algebra hold for numbers, not all of them for inf and nan: ``0*inf`` and ``inf - inf`` are nan,
``log(0)/log(0)`` is not 1, ``sqrt(-1)^2`` is not -1. So such a part is a term or factor that
collects only with itself (``u + u`` is ``2*u`` and ``u*u`` is ``u^2`` for inf and nan too), a
zero does not absorb it, and the rules that fail for it pass it by: exp(log(u)), a power of a
fractional power, a factor common to a sum's terms. (Numbers that overflow, left as written,
also stay whole in a sum or product: ``_written``.) The printed derivative then says what the
numbers say (nan), not 0. Such a part stays unfolded rather than becoming a constant nan,
because nan prints as ``(nan)``, which reads back as a variable.

Whether a node is undefined is known when a rule makes it, in O(1) per input: where it failed to
fold, its own value (fold.not_finite: sin(2) and 2^(1/2) do not fold either, and are finite);
else whether one of its inputs is (``_mark``)."""

from __future__ import annotations

from fractions import Fraction

from ..walk import topological

_RANK = {"const": 1, "var": 2, "pow": 3, "mul": 5, "add": 6}  # named constants (pi) first
FLATTEN = 8  # nested sums and products are spread into their parent up to this many terms
# the ops with rules of their own here; every other op is a function of its inputs
_ARITHMETIC = {"const", "var", "add", "sub", "neg", "mul", "div", "pow", "sqrt"}
# a function whose first input is one of these may be rebuilt (exp(log(a)) is a; sin(2) folds)
_REBUILT_FIRST = ("const", "exp", "log")


def _kept(node, args) -> bool:
    """Whether function ``node``, its inputs' canonical forms ``args``, is canonical as it is:
    those are its own inputs, and the first is no number, exp or log."""
    return bool(args) and tuple(args) == node.args and args[0].op not in _REBUILT_FIRST


class Canonical:
    """The walk of a simplifier: ``simplifier(node)`` -> the canonical node, memoised per node.

    ``atoms`` are nodes to keep opaque: each stands in as a variable, so no rule looks inside it
    (how a connection derivative is shown in the names of the node's inputs)."""

    def __init__(self, builder, atoms=()):
        self.b = builder
        self.memo: dict = {}  # node -> its canonical node (nodes hash by identity)
        # a frozenset is kept as it is: callers share one among many simplifiers
        self.atoms = atoms if isinstance(atoms, frozenset) else set(atoms)
        self._expanding = 0  # while multiplying out to cancel, do not factor back
        self._placeholders: dict = {}  # stand-in var -> atom
        self._restored: dict = {}  # node -> the node with the atoms back (see _restore)
        self._keys: dict = {}  # node -> its sort key
        # for Products (products.py): a product of distinct plain factors made here -> their keys
        self._plain: dict = {}
        # the undefined nodes made here (see the module's docstring): empty in almost every
        # graph, so each rule's look at it costs one test of an empty set
        self._undefined: set = set()
        # those of them that are numbers left as written (1e308*10): not spread into a sum or
        # product either, where the numbers would be combined again (0*(1e308*10) is nan)
        self._written: set = set()

    # -- the walk --------------------------------------------------------------------------
    def __call__(self, root):
        memo = self.memo
        if root not in memo:
            args = root.args
            if root in self.atoms and args:
                memo[root] = self._placeholder(root)  # not entered: it stays opaque
            elif args and None not in (known := [memo.get(args[0])] if len(args) == 1 else
                                       [memo.get(a) for a in args]):  # (one input: no loop)
                # one new node, its inputs canonical: no walk to set up
                result = memo[root] = self._canon(root, known)
                memo.setdefault(result, result)
            else:
                self._walk(root)
        result = memo[root]
        return self._restore(result) if self._placeholders else result

    def known(self, node):
        """Record ``node``, made by this simplifier's rules, as canonical; return it."""
        self.memo.setdefault(node, node)
        return node

    def _walk(self, root):
        """Each node under ``root`` made canonical once its inputs are (the one walker's order;
        what the memo knows is not entered, atoms are not entered)."""
        memo, atoms, canon = self.memo, self.atoms, self._canon
        for node in topological([root], skip=memo, stop=atoms):
            if node in memo:
                continue  # made canonical by a rule earlier in this walk
            if not node.args:
                memo[node] = node  # numbers and variables are canonical
            elif node in atoms:
                memo[node] = self._placeholder(node)
            else:
                result = canon(node, [memo[a] for a in node.args])
                memo[node] = result
                memo.setdefault(result, result)

    def note_canonical(self, order):
        """Record the nodes of ``order`` (topological) that are canonical as they stand:
        numbers, variables, and functions of such nodes (what :meth:`_canon` returns unchanged:
        :func:`_kept`),
        in one pass, so a walk from a node above them stops there. Nothing is made, so what is
        made later, and in which order (terms sort by it), is the same as without this."""
        memo, atoms = self.memo, self.atoms
        for node in order:
            args = node.args
            if not args:
                memo.setdefault(node, node)
            elif node.op not in _ARITHMETIC and node not in atoms and \
                    all(memo.get(a) is a for a in args) and _kept(node, args):
                memo.setdefault(node, node)
                if self._undefined:
                    self._mark(node, args)

    def _placeholder(self, atom):
        """A variable that stands in for ``atom``."""
        ph = self.b.var(f"\0atom{atom.seq}")
        self._placeholders[ph] = atom
        return ph

    def _restore(self, node):
        """The result with each atom back in place of its stand-in (memoised, as the walk is:
        results share their parts, and a network's gradients share most of theirs)."""
        back, done = self._placeholders, self._restored
        if node in done:
            return done[node]
        for n in topological([node], skip=done):
            if n in back:
                done[n] = back[n]
            elif n.args:
                args = [done[a] for a in n.args]
                same = all(x is y for x, y in zip(args, n.args))
                done[n] = n if same else self.b.make(n.op, *args)
            else:
                done[n] = n
        return done[node]

    def _canon(self, node, args):
        b, op = self.b, node.op
        if op not in _ARITHMETIC:  # a function: the common case first
            if _kept(node, args):
                # a function of canonical inputs is canonical: no need to rebuild
                return self._mark(node, args) if self._undefined else node
            return self.function(op, args)
        if op in ("const", "var"):
            return node
        if op == "add":
            return self.add(args)
        if op == "sub":
            return self.add([args[0], self.mul([b.const(-1), args[1]])])
        if op == "neg":
            return self.mul([b.const(-1), args[0]])
        if op == "mul":
            return self.mul(args)
        if op == "div":
            return self.mul([args[0], self.pow(args[1], b.const(-1))])
        if op == "pow":
            return self.pow(*args)
        if op == "sqrt":
            return self.pow(args[0], b.const(Fraction(1, 2)))
        raise AssertionError(f"no canonical rule for {op!r}, listed in _ARITHMETIC")

    # -- helpers ---------------------------------------------------------------------------
    def _mark(self, node, parts):
        """``node``, recorded as undefined where one of ``parts`` (its inputs) is."""
        undefined = self._undefined
        if undefined and any(p in undefined for p in parts):
            undefined.add(node)
        return node

    def _flatten(self, op, items):
        out = []
        written = self._written
        for t in items:
            if t.op == op and len(t.args) <= FLATTEN and not (written and t in written):
                out.extend(t.args)
            else:
                out.append(t)
        return out

    def _key(self, node):
        """The order of terms and factors: numbers, then variables by name, then the rest in
        order of creation; a power sorts beside its base."""
        k = self._keys.get(node)
        if k is None:
            if node.op == "pow":
                base = node.args[0]
                k = (_RANK.get(base.op, 4), base.value if base.op == "var" else "", base.seq, 1)
            else:
                k = (_RANK.get(node.op, 4), node.value if node.op == "var" else "", node.seq, 0)
            self._keys[node] = k
        return k
