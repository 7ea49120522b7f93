"""Rich tables of benchmark rows on the terminal."""

from __future__ import annotations

COLUMNS = (
    "model",
    "backend",
    "precision",
    "flip",
    "batch",
    "variant",
    "stage",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "images_per_s",
    "fps",
    "detector_share",
    "seconds_per_1000",
    "peak_rss_mb",
    "old_p50_ms",
    "new_p50_ms",
    "speedup",
    "skipped",
)


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def print_rows(rows: list[dict], title: str = "fer-bench") -> None:
    from rich.console import Console
    from rich.table import Table

    timed = [row for row in rows if "skipped" not in row]
    columns = [c for c in COLUMNS if any(c in row for row in timed)]
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in timed:
        table.add_row(*(_format(row.get(c)) for c in columns))
    # Wide enough for every column: piped or on an 80-column terminal, Rich would otherwise cut
    # the table (measured: the flip and p95 columns disappeared in CI logs).
    console = Console(width=max(Console().width, 200))
    console.print(table)
    for row in rows:
        if "skipped" in row:  # long reasons read better as lines than as a squeezed column
            console.print(
                f"skipped {row['model']} {row['backend']}/{row['precision']} "
                f"batch {row.get('batch')}: {row['skipped']}"
            )
