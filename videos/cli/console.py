"""Where the command line writes: results to stdout, narrative and progress bars to stderr.

Results (an id, a path, a table, JSON) go to stdout so scripts can capture them;
messages and tqdm progress bars go to stderr. ``-v 0`` or ``--no-progress`` turns the
bars off.
"""
from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, Iterable, Sequence

from tqdm import tqdm

from .. import conf


class Console:
    def __init__(self, stdout: Any, stderr: Any, *, verbosity: int = 1, progress: bool = True) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.verbosity = verbosity
        self.progress_enabled = progress and verbosity > 0

    def out(self, text: str = "") -> None:
        """A result, on stdout."""
        self.stdout.write(text)

    def info(self, text: str, *, level: int = 1) -> None:
        """Narrative on stderr, shown at verbosity ``level`` and above."""
        if self.verbosity >= level:
            self.stderr.write(text)

    def warn(self, text: str) -> None:
        self.stderr.write(text)

    def _raw_stderr(self) -> Any:
        # tqdm redraws a line with \r; Django's OutputWrapper would add a newline to each write.
        return getattr(self.stderr, "_out", None) or sys.stderr

    def bar(self, *, total: float, desc: str, unit: str = "%") -> tqdm:
        return tqdm(
            total=total, desc=desc, unit=unit, file=self._raw_stderr(), disable=not self.progress_enabled,
            leave=True, dynamic_ncols=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
            "[{elapsed}{postfix}]" if unit == "%" else None,
        )


def set_bar(bar: tqdm, value: float, postfix: str = "") -> None:
    """Move ``bar`` to ``value`` (never backwards) with a status note."""
    value = min(bar.total or value, value)
    if value > bar.n:
        bar.update(value - bar.n)
    if postfix:
        bar.set_postfix_str(postfix, refresh=False)
    bar.refresh()


def money(amount: Decimal | float | int | None) -> str:
    if amount is None:
        return "-"
    return f"{Decimal(str(amount)):.2f} {conf.get('CURRENCY')}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table: columns padded to their widest cell, the last one left free."""
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
