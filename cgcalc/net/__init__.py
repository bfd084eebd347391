"""Network files, step by step (each module uses only those before it):

    spec.py        the file read: declarations, equations, data, training options
    options.py     the training options: names, kinds, bounds, defaults, the one check
    unroll.py      recurrent networks: time-indexed equations unrolled over T steps
    model.py       the graph with shapes, built once; columns and checks
    targets.py     what a cost asks of its targets (cross-entropy: 0 to 1), checked as read
    data.py        the data rows (the file's own, or given), read into tables X and Y
    params.py      the start drawn with a seed; params files read and written
    backprop.py    the gradients derived on the graph and simplified; the tapes that run them
    train.py       gradient descent (minibatches, momentum, Adam) on those tapes
    check.py       the gradients against forward mode and finite differences
    through_time.py  backpropagation through time, told for one step t
    derivation.py  what `cgcalc diff FILE.net` tells: backpropagation on the graph
"""

from .model import BATCH, Network

__all__ = ["BATCH", "Network"]
