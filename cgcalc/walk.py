"""The one graph walker: every pass over a graph goes through these functions.

- :func:`topological`: every node reachable from some roots, inputs before their users, and
  :func:`reach_size`, how many there are, up to a bound (it stops there);
- :func:`depending` / :func:`reaching`: the nodes between two sets (what depends on the sources,
  what reaches the targets); ``reaching`` given :func:`users_of` walks up from the targets
  instead, costing what it finds (one variable's ancestors, not the whole graph);
- :func:`accumulate`: the chain rule's loop. Reverse: from the output down, each edge adds its
  contribution to its input's total (the sum over paths, one pass for every input). Forward:
  from the inputs up, each node's total from its inputs' totals. What an edge contributes and
  how totals add is the ``combine`` object's: numbers, graph nodes, canonical nodes or path
  counts all use this loop; :func:`path_counts` and :func:`list_paths` are two of its uses.

Nodes are anything with ``args`` (a tuple of nodes) that hashes by identity. Nothing here
recurses: the walks keep explicit stacks, so graphs 100,000 levels deep are ordinary input.
"""

from __future__ import annotations


def topological(roots, skip=None, stop=None) -> list:
    """Every node reachable from ``roots``, inputs before the nodes that use them (depth first,
    in argument order). The stack holds each open node with an iterator over its inputs.

    Nodes in ``skip`` (values already known, say: any container) are left out and not
    entered; nodes in ``stop`` are listed but not entered (their inputs are not needed)."""
    order: list = []
    seen: set = set()
    skip = skip if skip is not None else ()
    stop = stop if stop is not None else ()
    append, add = order.append, seen.add
    for root in roots:
        if root in seen or root in skip:
            continue
        add(root)
        if root in stop:
            append(root)
            continue
        stack = [(root, iter(root.args))]
        push, pop = stack.append, stack.pop
        while stack:
            node, rest = stack[-1]
            for a in rest:
                if a not in seen and a not in skip:
                    add(a)
                    if a in stop:
                        append(a)
                        continue
                    push((a, iter(a.args)))
                    break
            else:
                pop()
                append(node)
    return order


def reach_size(root, most: int) -> int:
    """How many nodes ``root`` reaches, itself included (``len(topological([root]))``), or
    ``most`` where that is more: the walk stops there, so a size asked of a large graph
    again and again costs ``most`` each time, not the graph."""
    seen = {root}
    stack = [root]
    add, push, pop = seen.add, stack.append, stack.pop
    while stack and len(seen) < most:
        for a in pop().args:
            if a not in seen:
                add(a)
                push(a)
    return min(len(seen), most)


def depending(order, sources) -> set:
    """The nodes of ``order`` (topological) that depend on one of ``sources`` (included)."""
    live = set(sources)
    add = live.add
    for n in order:
        if n not in live:
            for a in n.args:
                if a in live:
                    add(n)
                    break
    return live


def reaching(order, targets, users=None, most=None):
    """The nodes of ``order`` from which one of ``targets`` can be reached: the same set as
    :func:`depending`, read the other way (a path runs from the node down to a target).

    With ``users`` (from :func:`users_of`) the walk goes up from the targets instead, so it
    costs what it finds, not the whole graph; with ``most`` it gives up (None) past that many."""
    if users is None:
        return depending(order, targets)
    found = set(targets)
    stack = list(found)
    while stack:
        for u in users.get(stack.pop(), ()):
            if u not in found:
                found.add(u)
                if most is not None and len(found) > most:
                    return None
                stack.append(u)
    return found


def users_of(order) -> dict:
    """node -> the nodes of ``order`` that take it as an input (each once)."""
    users: dict = {}
    for n in order:
        for a in set(n.args):
            users.setdefault(a, []).append(n)
    return users


def accumulate(order, seeds: dict, combine, *, reverse=True, live=None) -> dict:
    """The chain rule over ``order`` (topological), from ``seeds`` (node -> total).

    Reverse: for each node from the last to the first that has a total ``g``, each input ``a``
    in ``live`` (all inputs without it) gets ``combine.edge(node, i, g)`` added to its total with
    ``combine.add(total, term)``; ``edge`` may return None for nothing. Forward: each node not
    seeded gets ``combine.node(node, [total of each input or None])`` when some input has a
    total (None again means nothing). Returns every total, seeds included."""
    acc = dict(seeds)
    get = acc.get
    if reverse:
        edge, add = combine.edge, combine.add
        for n in reversed(order):
            g = get(n)
            if g is None:
                continue
            for i, a in enumerate(n.args):
                if live is not None and a not in live:
                    continue
                term = edge(n, i, g)
                if term is None:
                    continue
                prev = get(a)
                acc[a] = term if prev is None else add(prev, term)
        return acc
    node_total = combine.node
    for n in order:
        if not n.args or n in seeds or (live is not None and n not in live):
            continue
        ts = [get(a) for a in n.args]
        for t in ts:
            if t is not None:
                total = node_total(n, ts)
                if total is not None:
                    acc[n] = total
                break
    return acc


class Count:
    """Path counting as accumulation: every edge passes its count on, counts add (exact
    integers however large: 3^1000 paths are counted, never listed)."""

    @staticmethod
    def edge(node, i, g):
        return g

    @staticmethod
    def add(a, b):
        return a + b


def path_counts(order, output, live=None) -> dict:
    """node -> the number of paths from ``output`` down to it."""
    return accumulate(order, {output: 1}, Count, live=live)


def list_paths(order, output, target, limit: int, users=None, budget=None):
    """Up to ``limit`` paths from ``output`` down to ``target``, each as (nodes, input slots):
    a depth-first walk that enters only nodes from which ``target`` can be reached.

    ``budget`` (a one-item list, shared by the calls of one display) bounds the work: the
    nodes found above ``target`` and the nodes of the paths listed are taken from it, and once
    it is spent no more paths are listed (None). Listing every variable's paths in a long sum
    is quadratic by nature; with a budget a few times the graph's size it stays linear."""
    if limit <= 0:
        return []
    most = budget[0] if budget is not None else None
    reach = reaching(order, [target], users, most)
    if reach is None:
        budget[0] = 0
        return None
    if budget is not None:
        budget[0] -= len(reach)
    found = []
    if output not in reach:
        return found
    path, nxt, slots = [output], [0], []
    while path:
        node = path[-1]
        if node is target:
            if budget is not None:
                budget[0] -= len(path)
                if budget[0] < 0:
                    break
            found.append((list(path), list(slots)))
            if len(found) >= limit:
                break
            i = len(node.args)  # nothing below the target: back up
        else:
            i = nxt[-1]
            args = node.args
            while i < len(args) and args[i] not in reach:
                i += 1
        if i >= len(node.args):
            path.pop(), nxt.pop()
            if slots:
                slots.pop()
            continue
        nxt[-1] = i + 1
        path.append(node.args[i])
        nxt.append(0)
        slots.append(i)
    return found
