"""README sections rendered from the code (validation codes, error remedies), so the docs cannot drift.

    .venv/bin/python -m tests.readme_sections          # rewrite the generated sections in README.md
tests/unit/test_readme.py fails when README.md differs from what this renders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from functions.logic.remediation import documented_remedies
from functions.logic.validation import codes_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def _readable(pattern: str) -> str:
    """A matching regex as words: named groups become <name>, alternatives a / b, optional marks vanish."""
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern)
    text = re.sub(r"\(([^()]*)\)", lambda m: " / ".join(m.group(1).split("|")), text)
    return text.replace('"?', '"').replace(" ?", " ").replace("?", "").replace("\\", "")


def remedies_markdown() -> str:
    pinecone = ["| Pinecone error (matched text) | what to do |", "|---|---|"]
    pipeline = ["| pipeline error | what to do |", "|---|---|"]
    for code, pattern, hint in documented_remedies():
        if pattern:
            shown = _readable(pattern).replace("|", "\\|")
            pinecone.append(f"| `{code}`: `{shown}` | {hint} |")
        else:
            pipeline.append(f"| `{code}` | {hint} |")
    return "\n".join(pinecone) + "\n\n" + "\n".join(pipeline)


SECTIONS = {"validation-codes": codes_markdown, "remedies": remedies_markdown}


def render(text: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(
            rf"(<!-- generated:{name}:start -->\n).*?(<!-- generated:{name}:end -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md has no generated:{name} markers")
        text = pattern.sub(lambda m, body=make().strip(): m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> None:
    current = README.read_text(encoding="utf-8")
    updated = render(current)
    if updated != current:
        README.write_text(updated, encoding="utf-8")
        sys.stdout.write("README.md updated\n")


if __name__ == "__main__":
    main()
