"""A console progress bar: step, loss, throughput and ETA, redrawn in place on a terminal and printed as
lines otherwise (log files, CI)."""

import sys


def format_duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class ProgressBar:
    def __init__(self, total_steps: int, stream=None, enabled: bool = True, width: int = 24):
        self.total = total_steps
        self.stream = stream or sys.stderr
        self.enabled, self.width = enabled, width
        self.interactive = enabled and self.stream.isatty()

    def update(self, step: int, loss: float, examples_per_second: float, seconds_per_step: float) -> None:
        """seconds_per_step: the recent pace (compilation excluded), which the ETA extrapolates."""
        if not self.enabled:
            return
        eta = (self.total - step) * seconds_per_step
        filled = int(self.width * step / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        line = (
            f"step {step}/{self.total} [{bar}] loss {loss:.4f} | {examples_per_second:,.1f} ex/s"
            f" | ETA {format_duration(eta)}"
        )
        if self.interactive:
            self.stream.write("\r" + line + "\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line above the bar (evaluation results, checkpoints)."""
        if not self.enabled:
            return
        self.stream.write(("\r\033[K" if self.interactive else "") + text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.interactive:
            self.stream.write("\n")
            self.stream.flush()
