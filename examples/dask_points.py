"""Points beyond one machine: what `cgcalc diff EXPR --points FILE` does for one CSV file, done
by Dask for many, on a cluster of worker processes (here a local one).

    pip install 'cgcalc[dask]'
    python3 examples/dask_points.py 'exp(sin(x*y)) * log(1 + x^2)' 'points-*.csv' 'out-*.csv'

Every input file holds points (a header naming the variables, other columns carried through
as written); every output file gets the same columns the command line writes: the inputs,
``value``, and ``d/dx``, ``d/dy``, ... A cgcalc Function pickles as its text, so each worker
rebuilds it. As the command line does, a file with a column named as an output (``value``,
``d/dx``) or without a variable's column is refused, and so is a variable's entry that is not
a number (exit status 2).
"""

import logging
import sys

import dask.dataframe as dd
from dask.distributed import Client, LocalCluster

import cgcalc


def derivative_rows(f):
    """The function that turns one partition of points into rows with value and gradient."""
    def rows(part):
        value, grad = f.value_and_grad(**{v: part[v].astype(float).to_numpy()
                                           for v in f.variables})
        return part.assign(value=value, **{f"d/d{v}": g for v, g in grad.items()})
    return rows


def main(expression, inputs, outputs, workers=2):
    f = cgcalc.function(expression)
    written = ["value", *(f"d/d{v}" for v in f.variables)]
    # (a partition's fault is said once, below, not also in the workers' logs)
    with LocalCluster(n_workers=workers, threads_per_worker=1,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster):
        # every column read as the text it is, so the columns carried through stay as written
        points = dd.read_csv(inputs, dtype=str, keep_default_na=False)
        taken = [c for c in points.columns if c in written]
        missing = [v for v in f.variables if v not in points.columns]
        if taken or missing:
            refuse(f"{inputs}: " + (f"a column is named {taken[0]!r}, as an output column is"
                                    if taken else f"no column for the variable {missing[0]!r}"))
        try:
            meta = [*points.dtypes.items(), *((c, "f8") for c in written)]  # (the columns)
            points.map_partitions(derivative_rows(f), meta=meta).to_csv(outputs, index=False)
        except ValueError as e:  # a variable's entry that is not a number
            refuse(f"{inputs}: {e}")


def refuse(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main(*sys.argv[1:4])
