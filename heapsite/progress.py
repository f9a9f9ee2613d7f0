"""A terminal progress bar: `with progress(total, "label") as bar: bar.advance(n)`."""

import sys
import time
from contextlib import contextmanager


class _Bar:
    def __init__(self, total: int, label: str, stream):
        self.total, self.label, self.stream = max(total, 1), label, stream
        self.done, self.started, self._last = 0, time.monotonic(), 0.0

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self._last >= 0.2 or self.done >= self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        fraction = min(self.done / self.total, 1.0)
        elapsed = now - self.started
        eta = (elapsed / fraction - elapsed) if fraction > 0 else 0
        filled = int(fraction * 30)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%} {elapsed:5.1f}s eta {eta:4.0f}s"
        )
        self.stream.flush()


@contextmanager
def progress(total: int, label: str, *, stream=None):
    bar = _Bar(total, label, stream or sys.stderr)
    try:
        yield bar
    finally:
        bar.stream.write("\n")
        bar.stream.flush()
