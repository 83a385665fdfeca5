"""``python -m bench DIR... -o OUT``: see :mod:`flowzip.bench` and bench/README.md."""

import sys

from flowzip.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
