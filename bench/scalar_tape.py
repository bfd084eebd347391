"""A plain-Python scalar reverse-mode tape: the yardstick bench/scale.py measures cgcalc against.

micrograd's design: one object per operation, holding its value, its inputs and the local
derivative along each input edge; an iterative topological sort; one reversed loop that
accumulates the gradients. It parses nothing and derives nothing symbolic.

    python3 bench/scalar_tape.py wide|deep|chain N     # prints seconds and a few gradients
"""

from __future__ import annotations

import math
import sys
import time


class Value:
    __slots__ = ("data", "grad", "_prev", "_local")

    def __init__(self, data, prev=(), local=()):
        self.data = data
        self.grad = 0.0
        self._prev = prev      # the inputs, one per edge (x*x has two edges into x)
        self._local = local    # d self / d input, one per edge

    def __add__(self, other):
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def sin(self):
        return Value(math.sin(self.data), (self,), (math.cos(self.data),))

    def backward(self):
        order, seen, stack = [], {id(self)}, [(self, 0)]
        while stack:  # iterative depth-first post-order: no recursion limit at 10^5 deep
            node, i = stack.pop()
            if i < len(node._prev):
                stack.append((node, i + 1))
                child = node._prev[i]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                order.append(node)
        self.grad = 1.0
        for node in reversed(order):
            g = node.grad
            for child, local in zip(node._prev, node._local):
                child.grad += local * g


# The shapes of bench/scale.py, built directly as operations. Each returns (output, inputs).

def wide(xs):
    """sum of sin(x_i*x_{i+1}), i = 0..W-2"""
    v = [Value(x) for x in xs]
    out = (v[0] * v[1]).sin()
    for a, b in zip(v[1:], v[2:]):
        out = out + (a * b).sin()
    return out, v


def deep(n, x):
    """sin(sin(...sin(x)...)), n deep"""
    v = Value(x)
    out = v
    for _ in range(n):
        out = out.sin()
    return out, [v]


def chain(k, x):
    """y_1 = sin(x*x + x), y_{j+1} = sin(y_j*y_j + y_j), k steps"""
    v = Value(x)
    y = v
    for _ in range(k):
        y = (y * y + y).sin()
    return y, [v]


def run(shape, n, point):
    """Seconds to build the graph (the forward pass) and run the backward pass; the grads."""
    t = time.perf_counter()
    out, inputs = wide(point) if shape == "wide" else (deep if shape == "deep" else chain)(
        n, point[0])
    out.backward()
    return time.perf_counter() - t, [v.grad for v in inputs]


if __name__ == "__main__":
    shape, n = sys.argv[1], int(sys.argv[2])
    point = {"wide": [0.3 + 0.01 * (i % 7) for i in range(n)], "deep": [0.3], "chain": [-0.3]}
    seconds, grads = run(shape, n, point[shape])
    print(seconds, grads[:3])
