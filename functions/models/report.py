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


class ValidationOptions(BaseModel):
    """Knobs of the drop validator (defaults follow Pinecone's documented limits)."""

    marker_name: str = "_SUCCESS"
    """Marker file in the drop root; ignored as data, parsed as a JSON manifest when it holds JSON."""
    report_name: str = "_autoimport_report.json"
    sample_rows: int = Field(default=64, ge=0, le=100_000)
    """Rows read per file for row-level checks (never the whole file)."""
    sample_budget_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    """Upper bound on bytes read per file (footer + sampled pages)."""
    concurrency: int = Field(default=32, ge=1, le=256)
    extra_columns_are_errors: bool = True
    max_files: int = 100_000
    max_file_bytes: int = 10 * 1024**3
    max_namespaces: int = 10_000
    max_total_bytes: int = 1024**4
    max_total_records: int | None = None
    max_id_length: int = 512
    max_metadata_bytes: int = 40 * 1024
    max_sparse_nonzeros: int = 2048
