"""``python -m bench.report [--results PATH]``: the README's performance section, in Markdown, from results.json.

It prints one table per benchmark (the same columns as ``python -m bench`` shows), the targets with their verdict
(and, for a missed target, what limits it), the notes, the machine (cores, RAM, Python, platform) and the date.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import cell

RESULTS = Path(__file__).resolve().parent / "results.json"


def _cell(value: Any) -> str:
    return cell(value).replace("|", "\\|")  # a pipe would end the markdown cell


def _verdict(target: dict[str, Any]) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[target["passed"]]


def benchmark_markdown(bench: dict[str, Any]) -> list[str]:
    status = "" if bench["status"] == "ok" else f" ({bench['status']})"
    quick = " (--quick sizes)" if bench.get("quick") else ""
    lines = [f"### {bench['title']}{status}{quick}", ""]
    columns: list[str] = bench["columns"]
    if bench["rows"]:
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "|".join("---" for _ in columns) + "|")
        for row in bench["rows"]:
            lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
        lines.append("")
    for target in bench["targets"]:
        shown = "-" if target["value"] is None else f"{target['value']:.3g}"
        line = f"- Target: {target['description']} - measured {shown}: {_verdict(target)}"
        if target["passed"] is False and target.get("limit"):
            line += f". Limited by: {target['limit']}"
        lines.append(line)
    lines.extend(f"- {note}" for note in bench["notes"])
    lines.append("")
    return lines


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    benches = document["benchmarks"]
    targets = [t for b in benches for t in b["targets"]]
    met = sum(1 for t in targets if t["passed"] is True)
    lines = [
        "## Performance",
        "",
        f"Measured with `make bench` (`python -m bench`) on {document['generated_at'][:10]}: {m['cores']} cores, "
        f"{m['ram_gib']} GiB RAM, Python {m['python']}, {m['platform']}. Every ratio compares with a baseline "
        "measured in the same run; [bench/README.md](bench/README.md) explains each benchmark. "
        f"{met} of {len(targets)} targets met.",
        "",
        "| benchmark | status | targets met |",
        "|---|---|---|",
    ]
    for b in benches:
        n = len(b["targets"])
        ok = sum(1 for t in b["targets"] if t["passed"] is True)
        lines.append(f"| {b['title']} | {b['status']} | {f'{ok} of {n}' if n else 'no target'} |")
    lines.append("")
    missed = [(b, t) for b in benches for t in b["targets"] if t["passed"] is not True]
    if missed:
        lines.append("**Targets not met:**")
        lines.append("")
        for b, t in missed:
            shown = "not measured" if t["value"] is None else f"measured {t['value']:.3g}"
            limit = f" Limited by: {t['limit']}." if t.get("limit") else ""
            lines.append(f"- {b['name']}: {t['description']} ({shown}).{limit}")
        lines.append("")
    for b in benches:
        lines.extend(benchmark_markdown(b))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.results.exists():
        print(f"{args.results} does not exist: run `make bench` (or `python -m bench`) first.")
        return 1
    print(markdown(json.loads(args.results.read_text())), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
