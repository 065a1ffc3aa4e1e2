"""``python -m bench [--only NAME ...] [--quick] [--output PATH]``: run the benchmarks, print a table per benchmark
and write ``bench/results.json`` (results of benchmarks not run this time are kept from the previous file)."""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import BenchResult, cell, machine

RESULTS = Path(__file__).resolve().parent / "results.json"


def _registry() -> dict[str, Callable[[bool], BenchResult]]:
    from bench import bytes_read, cold_start, demo, emulator_import, polling_cost, validation

    return {
        "polling": polling_cost.run,
        "cold_start": cold_start.run,
        "bytes_read": bytes_read.run,
        "validation": validation.run,
        "emulator_import": emulator_import.run,
        "demo": demo.run,
    }


NAMES = ("polling", "cold_start", "bytes_read", "validation", "emulator_import", "demo")


def print_result(console: Console, result: BenchResult) -> None:
    table = Table(title=f"{result.title}  [{result.status}, {result.duration_s:.0f} s]", title_justify="left")
    for column in result.columns:
        table.add_column(
            column, justify="left" if column in ("files", "file", "import", "module", "measure") else "right"
        )
    for row in result.rows:
        table.add_row(*(cell(row.get(c), none="—") for c in result.columns))
    if result.rows:
        console.print(table)
    else:
        console.print(f"[bold]{result.title}[/]  [{result.status}]")
    for target in result.targets:
        mark = {True: "[green]PASS[/]", False: "[red]MISS[/]", None: "[yellow]n/a [/]"}[target.passed]
        shown = "—" if target.value is None else f"{target.value:.3g}"
        console.print(f"  {mark} {target.description} (measured {shown})", highlight=False)
        if target.passed is False and target.limit:
            console.print(f"       limited by: {target.limit}", style="dim", highlight=False)
    for note in result.notes:
        console.print(f"  • {note}", style="dim", highlight=False)
    console.print()


def run(names: list[str], quick: bool, output: Path, console: Console) -> dict[str, Any]:
    registry = _registry()
    previous: dict[str, Any] = {}
    if output.exists():
        try:
            previous = {b["name"]: b for b in json.loads(output.read_text())["benchmarks"]}
        except (ValueError, KeyError, TypeError):
            previous = {}
    fresh: dict[str, Any] = {}
    for name in names:
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            result = registry[name](quick)
        except Exception as exc:  # one broken benchmark must not hide the others
            result = BenchResult(name=name, title=name, status="error")
            result.notes.append(f"{type(exc).__name__}: {exc}")
            console.print(traceback.format_exc(limit=3), style="dim")
        result.duration_s = time.perf_counter() - started
        print_result(console, result)
        entry = result.to_json()
        entry["quick"] = quick
        entry["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        fresh[name] = entry
    merged = {**previous, **fresh}
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": [merged[n] for n in NAMES if n in merged],
    }
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=NAMES,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for iterating")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="results file (default bench/results.json)"
    )
    args = parser.parse_args(argv)
    console = Console(width=max(140, Console().width))
    started = time.perf_counter()
    document = run(args.only or list(NAMES), args.quick, args.output, console)
    missed = [
        f"{b['name']}: {t['description']}"
        for b in document["benchmarks"]
        for t in b["targets"]
        if t["passed"] is not True
    ]
    console.print(f"Wrote {args.output} in {time.perf_counter() - started:.0f} s.")
    if missed:
        console.print("[bold yellow]Targets not met:[/]")
        for line in missed:
            console.print(f"  • {line}", highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
