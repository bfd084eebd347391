"""Training: gradient descent on the network's own derived gradients, compiled once.

``param -= rate * dC/dparam`` on the whole batch by default; ``batch=B`` takes B rows per step
in an order the run's generator shuffles each epoch; ``optimizer=momentum`` (heavy ball) or
``adam`` change the step. Ctrl-C ends the loop and keeps the params reached; a cost that is not
finite stops it with exit status 1, naming the epoch.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

from .. import parallel
from ..errors import FAILURE, CgcalcError
from ..walk import topological
from . import backprop
from .scalar_step import compile_step
from .model import BATCH, Network

HISTORY = 200  # costs kept for the history (and the plot), spread over the epochs


class TrainResult:
    def __init__(self, params, cost, epochs, history, grad_norms, interrupted, every):
        self.params, self.cost, self.epochs = params, cost, epochs
        self.history, self.grad_norms = history, grad_norms
        self.interrupted, self.every = interrupted, every
        self.predictions = None  # the output node on the training rows, when it has one


class _Sgd:
    def __init__(self, options, arrays):
        self.rate = options["rate"]

    def step(self, value, grad, k):
        value -= self.rate * grad  # written out per entry in ScalarStep.descend (scalar_step.py)


class _Momentum:
    """Heavy ball: v = beta v + g; param -= rate v."""

    def __init__(self, options, arrays):
        self.rate, self.beta = options["rate"], options["beta"]
        self.v = [a * 0.0 for a in arrays]

    def step(self, value, grad, k):
        v = self.v[k]
        v *= self.beta
        v += grad
        value -= self.rate * v


class _Adam:
    """Adam (Kingma and Ba, 2015) with bias-corrected moments; ``rate`` is its step size."""

    def __init__(self, options, arrays):
        import numpy

        self.np = numpy  # once, not on every step
        self.rate, self.b1, self.b2 = options["rate"], options["beta1"], options["beta2"]
        self.eps = options["eps"]
        self.m = [a * 0.0 for a in arrays]
        self.v = [a * 0.0 for a in arrays]
        self.t = [0] * len(arrays)

    def step(self, value, grad, k):
        np = self.np
        self.t[k] += 1
        t, m, v = self.t[k], self.m[k], self.v[k]
        m *= self.b1
        m += (1 - self.b1) * grad
        v *= self.b2
        v += (1 - self.b2) * np.square(grad)
        m_hat = m / (1 - self.b1 ** t)
        v_hat = v / (1 - self.b2 ** t)
        value -= self.rate * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {"sgd": _Sgd, "momentum": _Momentum, "adam": _Adam}


def train(net: Network, params, data, options, rng=None, progress=None):
    """Train from ``params`` on ``data`` (X, Y) with ``options`` (the network's, with any
    flags applied). ``rng`` shuffles minibatches (the generator that drew the params,
    continued); ``progress(epoch, cost)`` is called every so often."""
    import numpy as np

    epochs = options["epochs"]
    (full, grads_only, cost_only), grad_nodes = backprop.train_tapes(net)
    current = {p: np.array(params[p], dtype=float) for p in net.params}
    arrays = [current[p] for p in net.params]  # updated in place: env holds the same arrays
    env = net.env(current, data)
    m = len(data[0])
    batch = options.get("batch")
    if batch is not None and batch >= m:
        batch = None
    if batch is not None and rng is None:
        rng = np.random.default_rng(options["seed"])
    opt = OPTIMIZERS[options["optimizer"]](options, arrays)
    full_data = full.prepare(env)
    grads_data = grads_only.prepare(env) if batch is None else None
    cost_data = cost_only.prepare(env) if batch is not None else None
    buffers: dict | None = {}  # arrays reused from epoch to epoch
    full_buffers: dict = {}
    every = max(1, epochs // HISTORY)
    # small arrays: the gradients as straight-line float code, the tape where it declines (and
    # when every epoch is watched, since those run the full tape)
    small = (compile_step(net, grad_nodes, env, grads_only.calls,
                          descend=options["optimizer"] == "sgd")
             if batch is None and every > 1 else None)
    history, norms = [], {p: [] for p in net.params}
    cost = float("nan")
    done = 0
    interrupted = False

    def watch_cost(epoch):
        if not np.isfinite(cost):
            raise CgcalcError(f"training diverged: the cost is {cost} at epoch {epoch} "
                              f"(try a smaller --rate)", status=FAILURE)
        history.append(cost)

    # plain gradient descent between watched epochs: the float code runs them many to a call;
    # after a call that met a fault, one at a time up to the next watched epoch
    in_calls = small is not None and small.descends
    one_at_a_time_to = 0
    # large arrays (no float code): the tape's large steps run in bands of rows on every core,
    # with the BLAS on one thread meanwhile (its own threads would fight the bands)
    blas_aside = parallel.one_blas_thread() if batch is None and small is None and \
        _has_bands(net, grad_nodes, m) else nullcontext()
    try:  # a step that overflows is seen in the cost (training diverged), not as numpy warns
        with blas_aside, np.errstate(all="ignore"):
            epoch = 0
            while epoch < epochs:
                epoch += 1
                watch = epoch % every == 0 or epoch == 1
                if in_calls and not watch and epoch > one_at_a_time_to:
                    watched = min(epochs + 1, (epoch // every + 1) * every)  # the next one
                    n = min(watched - epoch, small.most_epochs)
                    if small.descend(env, n, options["rate"]):
                        epoch = done = epoch + n - 1
                        continue
                    one_at_a_time_to = watched
                if batch is None:
                    if watch:  # the cost too, for the history and to stop on NaN
                        out = full.run_prepared(full_data, env, full_buffers)
                        cost, grads = float(out[0]), out[1:]
                        watch_cost(epoch)
                        for p, grad in zip(net.params, grads):
                            norms[p].append(float(np.sqrt(np.sum(np.square(grad)))))
                    else:
                        grads = small.run(env) if small is not None else None
                        if grads is None:
                            grads = grads_only.run_prepared(grads_data, env, buffers)
                        if not buffers or list(buffers) == ["blocks"] and not buffers["blocks"]:
                            buffers = None  # nothing worth keeping (no blocks, no large array)
                    for k, (value, grad) in enumerate(zip(arrays, grads)):
                        opt.step(value, grad, k)
                else:
                    order = rng.permutation(m)
                    for start in range(0, m, batch):
                        rows = order[start:start + batch]
                        part = net.env(current, (data[0][rows], data[1][rows]))
                        grads = grads_only.run_prepared(grads_only.prepare(part), part)
                        for k, (value, grad) in enumerate(zip(arrays, grads)):
                            opt.step(value, grad, k)
                    if watch:
                        cost = float(cost_only.run_prepared(cost_data, env)[0])
                        watch_cost(epoch)
                        for p, grad in zip(net.params, grads):
                            norms[p].append(float(np.sqrt(np.sum(np.square(grad)))))
                done = epoch
                if watch and progress is not None:
                    progress(epoch, cost)
    except KeyboardInterrupt:
        interrupted = True
    final = float(full.run_prepared(full_data, env)[0])
    if not np.isfinite(final):
        raise CgcalcError(f"training diverged: the cost is {final} after epoch {done} "
                          f"(try a smaller --rate)", status=FAILURE)
    result = TrainResult(current, final, done, history, norms, interrupted, every)
    if net.output is not None:
        result.predictions = backprop.predict(net, current, data[0])
    return result


def _has_bands(net, nodes, rows):
    """Whether a step of ``nodes`` is large enough for bands of rows (one with a row per data
    row and :data:`parallel.SPLIT` entries): else the BLAS keeps its threads."""
    if rows < 2 * parallel.ALIGN:
        return False
    for n in topological(nodes):
        shape = net.builder.shape_of(n)
        if shape and shape[0] == BATCH and \
                rows * math.prod(d if isinstance(d, int) else 1 for d in shape[1:]) >= \
                parallel.SPLIT:
            return True
    return False
