"""A dependency-free terminal progress bar for long management commands.

    with progress(total, "events") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

Draws on stderr: a bar, done/total, rate per second and ETA. On a terminal it redraws in place
(at most every 0.1 s); when stderr is a file or pipe it prints a plain line at most every 5 s, so
logs stay readable. `total` may be None when unknown (no bar, no ETA).
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_BAR_WIDTH = 30


def _format_count(value: float) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressBar:
    def __init__(self, total: int | None, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._interval = 0.1 if self.interactive else 5.0
        self.started = time.monotonic()
        self._last_draw = self.started if not self.interactive else 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last_draw >= self._interval:
            self._last_draw = now
            self._draw(now)

    def render(self, now: float | None = None) -> str:
        elapsed = max((now if now is not None else time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        parts = [self.label]
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * _BAR_WIDTH)
            parts.append("[" + "#" * filled + "-" * (_BAR_WIDTH - filled) + f"] {fraction:4.0%}")
            parts.append(f"{_format_count(self.done)}/{_format_count(self.total)}")
        else:
            parts.append(_format_count(self.done))
        parts.append(f"{_format_count(rate)}/s")
        if self.total and self.done < self.total and rate > 0:
            parts.append(f"ETA {_format_duration((self.total - self.done) / rate)}")
        else:
            parts.append(f"in {_format_duration(elapsed)}")
        return " ".join(parts)

    def _draw(self, now: float, final: bool = False) -> None:
        line = self.render(now)
        if self.interactive:
            # \033[K clears what a longer previous line left behind.
            self.stream.write("\r" + line + "\033[K" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self._draw(time.monotonic(), final=True)


@contextmanager
def progress(total: int | None, label: str, *, stream: TextIO | None = None) -> Iterator[ProgressBar]:
    """Yield a ProgressBar; its final state is drawn when the block ends (also on errors)."""
    bar = ProgressBar(total, label, stream)
    try:
        yield bar
    finally:
        bar.finish()
