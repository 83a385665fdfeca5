"""``python -m bench``: the flowzip benchmark, run from the repository root.

All the logic lives in :mod:`flowzip.benchmark` (also behind ``flowzip bench``); this
package only gives it the short module name. See ``bench/README.md``.
"""
