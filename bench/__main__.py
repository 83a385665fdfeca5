"""``python -m bench DIR... -o OUT``: see :mod:`flowzip.benchmark` and bench/README.md."""

import sys

from flowzip.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
