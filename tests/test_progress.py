"""The one progress line (flowzip.progress) that the CLI, the benchmark and training draw."""

from __future__ import annotations

from flowzip.progress import ProgressLine, bar


def test_bar_fills_in_proportion():
    assert bar(0, 4, width=8) == "[........] 0/4"
    assert bar(3, 4, width=8) == "[######..] 3/4"
    assert bar(4, 4, width=8) == "[########] 4/4"
    assert bar(0, 0, width=4) == "[....] 0/0"  # nothing to do is not a division by zero


def test_line_redraws_in_place_and_clears_only_what_it_drew(capsys):
    line = ProgressLine(enabled=True)
    line.show("one")
    line.show("two " + "x" * 400)
    line.clear()
    line.clear()  # a second clear writes nothing
    err = capsys.readouterr().err
    assert err == "\r\033[Kone" + "\r\033[Ktwo " + "x" * 156 + "\r\033[K"


def test_disabled_or_early_lines_draw_nothing(capsys):
    quiet = ProgressLine(enabled=False)
    quiet.show("x")
    quiet.clear()
    early = ProgressLine(enabled=True, delay=3600.0)  # quick work: no bar at all
    early.show("x")
    early.clear()
    assert capsys.readouterr().err == "" and not quiet.shown and not early.shown
