"""Points beyond one machine: what `cgcalc diff EXPR --points FILE` does for one CSV file, done
by Dask for many, on a cluster of worker processes (here a local one).

    pip install 'cgcalc[dask]'
    python3 examples/dask_points.py 'exp(sin(x*y)) * log(1 + x^2)' 'points-*.csv' 'out-*.csv'

Every input file holds points (a header naming the variables, other columns carried through);
every output file gets the same columns the command line writes: the inputs, ``value``, and
``d/dx``, ``d/dy``, ... A cgcalc Function pickles as its text, so each worker rebuilds it.
"""

import sys

import dask.dataframe as dd
from dask.distributed import Client, LocalCluster

import cgcalc


def derivative_rows(f):
    """The function that turns one partition of points into rows with value and gradient."""
    def rows(part):
        value, grad = f.value_and_grad(**{v: part[v].to_numpy(dtype=float)
                                           for v in f.variables})
        return part.assign(value=value, **{f"d/d{v}": g for v, g in grad.items()})
    return rows


def main(expression, inputs, outputs, workers=2):
    f = cgcalc.function(expression)
    with LocalCluster(n_workers=workers, threads_per_worker=1) as cluster, Client(cluster):
        points = dd.read_csv(inputs)
        points.map_partitions(derivative_rows(f)).to_csv(outputs, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
