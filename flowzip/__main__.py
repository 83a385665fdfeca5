"""``python -m flowzip``: the same as the ``flowzip`` command."""

import sys

try:
    from flowzip.cli import main
except KeyboardInterrupt:  # Ctrl-C while the package loads: no traceback, as in main
    print("flowzip: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
