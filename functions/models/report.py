"""The validation report: every problem found in a drop, with where it is and what to do."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Severity(StrEnum):
    ERROR = "error"  # the import would fail (or silently lose data): the drop is rejected
    WARNING = "warning"  # suspicious but importable
    INFO = "info"  # for the record (ignored files, etc.)


class Problem(BaseModel):
    severity: Severity
    code: str  # stable identifier, documented in the README (e.g. "schema.missing_column")
    message: str
    file: str | None = None  # path relative to the drop root, or the full URI for drop-level problems
    row: int | None = None  # 0-based row within the file
    column: str | None = None
    hint: str | None = None


class NamespaceTotals(BaseModel):
    files: int = 0
    bytes: int = 0
    rows: int = 0


class ValidationReport(BaseModel):
    uri: str
    valid: bool
    problems: list[Problem] = Field(default_factory=list)
    namespaces: dict[str, NamespaceTotals] = Field(default_factory=dict)
    totals: NamespaceTotals = Field(default_factory=NamespaceTotals)
    bytes_read: int = 0
    duration_s: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]
