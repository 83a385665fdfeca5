"""``python -m bench``: the flowzip benchmark, run from the repository root, and the
scripts of the experiments (bench/README.md).

The benchmark itself is the package :mod:`flowzip.bench` (also behind ``flowzip bench``,
which is why it is installed); this folder only gives it the short module name, and holds
the results.
"""
