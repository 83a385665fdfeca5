"""``python -m flowzip``: the same as the ``flowzip`` command."""
import sys

from flowzip.cli import main

sys.exit(main())
