"""The sweep's progress display: a rich bar on a terminal, otherwise failures noted on stderr, or nothing."""

from __future__ import annotations

import sys
from typing import Any

__all__: list[str] = []  # the driver's own: _NoProgress, _Progress, _Notes


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def advance(self, ok: bool) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class _Progress:
    """A rich progress bar on stderr: done/total, rate, elapsed and ETA."""

    def __init__(self, label: str, total: int, done: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text("" if speed is None else f"{speed:.3g} tasks/s", style="progress.data.speed")

        self.console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}", style="red"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, completed=done, failed="")
        self._failed = 0

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()

    def advance(self, ok: bool) -> None:
        if not ok:
            self._failed += 1
        self._bar.update(self._task, advance=1, failed=f"{self._failed} failed" if self._failed else "")

    def note(self, text: str) -> None:
        self._bar.console.print(text, markup=False, highlight=False)


class _Notes(_NoProgress):
    """No bar (stderr is not a terminal), but failures are still reported."""

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)
