"""A one-line terminal progress bar for `manage.py sync` (until heapsite/progress.py is shared)."""

import shutil
import sys
import time


class TerminalBar:
    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.interactive = self.stream.isatty()
        self.last_line = ""

    def __call__(self, progress) -> None:
        elapsed = time.monotonic() - self.started
        width = 30
        filled = int(progress.fraction * width)
        label = progress.step + (f" {progress.table}" if progress.table else "")
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {progress.fraction:4.0%} {elapsed:6.1f}s {progress.rows:>10,} rows  {label}"
        columns = shutil.get_terminal_size((100, 20)).columns
        line = line[: columns - 1]
        if self.interactive:
            self.stream.write("\r" + line.ljust(len(self.last_line)))
        elif line != self.last_line:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last_line = line

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
