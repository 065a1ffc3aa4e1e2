"""The README tells the truth: its generated sections match the code, and its two commands exist."""

from pathlib import Path

from tests.readme_sections import README, render

ROOT = Path(__file__).resolve().parents[2]


def test_generated_sections_match_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "README.md is stale: run `.venv/bin/python -m tests.readme_sections`"


def test_readme_commands_exist_in_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for target in ("demo", "test", "lint", "synth", "bench"):
        assert f"make {target}" in readme
        assert f"\n{target}:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
