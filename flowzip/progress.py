"""One line of progress on stderr, redrawn in place: the CLI's tiles, the benchmark's
images and training's steps all draw the same bar.

Example:
    >>> bar(3, 10, width=10)
    '[###.......] 3/10'
    >>> line = ProgressLine(enabled=False)  # not a terminal, or --quiet: draws nothing
    >>> line.show(bar(1, 2)); line.shown
    False
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

MAX_WIDTH = 160  # characters; a longer line would wrap and no longer redraw in place


def bar(done: int, total: int, width: int = 30) -> str:
    """``[####......] done/total``."""
    fill = width * done // max(1, total)
    return f"[{'#' * fill}{'.' * (width - fill)}] {done}/{total}"


@dataclass
class ProgressLine:
    """A status line on stderr that each :meth:`show` redraws and :meth:`clear` erases.

    Drawn only when ``enabled`` (the caller's rule: stderr is a terminal and not --quiet)
    and only once ``delay`` seconds have passed since it was made, so quick work draws
    nothing. Clear it before printing anything else, and at the end.
    """

    enabled: bool
    delay: float = 0.0
    start: float = field(default_factory=time.monotonic)
    shown: bool = False

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def show(self, text: str) -> None:
        if not self.enabled or self.elapsed() < self.delay:
            return
        sys.stderr.write(f"\r\033[K{text[:MAX_WIDTH]}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False
