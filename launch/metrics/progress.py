"""A rich progress bar around long loops (many result files, many metric_info.json files)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

MIN_ITEMS = 20  # below this the loop is quick; a flashing bar would only add noise


def progress_iter(items: Sequence[T], description: str, enabled: bool = True) -> Iterator[T]:
    """Yield `items`, drawing a transient bar on stderr when enabled and the loop is long."""
    if not enabled or len(items) < MIN_ITEMS:
        yield from items
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=len(items))
        for item in items:
            yield item
            bar.advance(task)
