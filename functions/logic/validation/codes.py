"""The problem codes: one registry of code → (default severity, hint), documented in the README."""

from __future__ import annotations

from functions.models.report import Problem, Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

CODES: dict[str, tuple[Severity, str]] = {
    # layout
    "layout.empty_drop": (
        ERROR,
        "Upload <namespace>/<file>.parquet files under the URI before writing the marker.",
    ),
    "layout.uri_is_file": (
        ERROR,
        "Point the URI at the drop folder (the parent of the namespace folders), not a file.",
    ),
    "layout.uri_is_namespace": (
        ERROR,
        "The URI points at a namespace folder: point it at the parent directory, whose subfolders are namespaces.",
    ),
    "layout.no_namespace": (
        ERROR,
        "Move the file into a namespace folder: <uri>/<namespace>/<file>.parquet (__default__ for the default "
        "namespace). Pinecone fails the import with 'No namespace detected'.",
    ),
    "layout.empty_namespace": (
        ERROR,
        "Put at least one .parquet file in the namespace folder or remove the folder.",
    ),
    "layout.nested_file": (
        WARNING,
        "Pinecone reads <namespace>/<file>.parquet; files in deeper folders may be skipped or imported: flatten them.",
    ),
    "layout.ignored_file": (INFO, "Pinecone ignores files that do not end in .parquet."),
    "layout.namespace_too_long": (ERROR, "Namespace names are at most 512 characters: rename the folder."),
    "layout.namespace_unprintable": (
        ERROR,
        "Rename the folder: namespace names must be printable characters.",
    ),
    "layout.namespace_unusual": (
        WARNING,
        "Unusual namespace name (spaces or characters outside letters, digits, '-', '_', '.'): check the folder name.",
    ),
    # files
    "file.zero_bytes": (ERROR, "The file is empty: re-upload it (an interrupted upload?)."),
    "file.unreadable_footer": (
        ERROR,
        "Pinecone fails the whole import on an unreadable footer in either error mode: rewrite or remove the file.",
    ),
    "file.unreadable": (
        ERROR,
        "The validator could not read the file: check permissions and that it still exists.",
    ),
    "file.corrupt_data": (ERROR, "The first rows could not be decoded: rewrite the file."),
    "file.no_rows": (WARNING, "The file holds no rows; remove it or check the writer."),
    "file.sample_skipped": (
        INFO,
        "This column was not checked in the sampled rows: its first data page exceeds the per-file read budget "
        "(write smaller pages, e.g. pyarrow write_batch_size=64, or raise sample_budget_bytes).",
    ),
    "file.footer_too_large": (
        WARNING,
        "The footer exceeds the per-file read budget, so the file was not checked: write fewer row groups "
        "or raise sample_budget_bytes.",
    ),
    # schema (from footers)
    "schema.missing_column": (
        ERROR,
        "Add the column; Pinecone fails the whole import with 'Missing required column'.",
    ),
    "schema.wrong_type": (ERROR, "Cast the column to the type Pinecone expects (see the message)."),
    "schema.values_float64": (
        WARNING,
        "Pinecone documents list<float32> for values; float64 may be rejected: cast with pa.list_(pa.float32()).",
    ),
    "schema.sparse_indices_type": (
        WARNING,
        "Pinecone documents list<uint32> for sparse indices: cast with pa.list_(pa.uint32()).",
    ),
    "schema.metadata_not_string": (
        ERROR,
        "Metadata must be a UTF-8 JSON string column: write json.dumps(metadata) per row (pa.string()).",
    ),
    "schema.extra_column": (
        ERROR,
        "Pinecone rejects files with columns other than id, values, sparse_values and metadata: drop the column "
        "(or move it into the metadata JSON).",
    ),
    "schema.dimension_mismatch": (ERROR, "The fixed-size values list must have the index's dimension."),
    "schema.inconsistent_dimension": (ERROR, "All files must have vectors of one dimension (the index's)."),
    # rows (from the sample)
    "row.missing_id": (ERROR, "Every record needs a non-empty id."),
    "row.id_too_long": (ERROR, "Record ids are at most 512 characters."),
    "row.missing_values": (ERROR, "Dense and hybrid records need a non-empty values list."),
    "row.dimension_mismatch": (ERROR, "Every dense vector must have exactly the index's dimension."),
    "row.inconsistent_dimension": (
        ERROR,
        "Dense vectors in one drop must all have one length (the index's dimension).",
    ),
    "row.dimension_too_large": (ERROR, "Dense vectors have at most 20,000 dimensions."),
    "row.non_finite": (ERROR, "Vectors must not contain NaN, infinity or nulls."),
    "row.zero_vector": (ERROR, "Dense vectors must contain at least one non-zero value."),
    "row.missing_sparse": (ERROR, "Records for a sparse index need sparse_values with at least one index."),
    "row.sparse_length_mismatch": (
        ERROR,
        "sparse_values.indices and sparse_values.values must have the same length.",
    ),
    "row.sparse_duplicate_index": (ERROR, "Sparse indices must be unique within a record."),
    "row.sparse_too_many": (ERROR, "Sparse vectors have at most 2048 non-zero values."),
    "row.metadata_invalid_json": (ERROR, "Metadata must be valid JSON (write it with json.dumps)."),
    "row.metadata_not_object": (
        ERROR,
        "Metadata must be a JSON object ({...}), not a list, string or number.",
    ),
    "row.metadata_too_large": (ERROR, "Metadata is at most 40 KB per record: move large fields elsewhere."),
    "row.duplicate_id": (
        ERROR,
        "Ids must be unique within a namespace: one record would silently replace the other and the imported "
        "count would not match the rows written.",
    ),
    "row.duplicate_values": (
        WARNING,
        "Pinecone treats records with identical vector values as duplicates: with 'continue' all but the first are "
        "skipped silently, with 'abort' the import fails.",
    ),
    # limits
    "limits.too_many_files": (
        ERROR,
        "Split the drop into several drops (Pinecone: at most 100,000 files per import).",
    ),
    "limits.file_too_large": (ERROR, "Split the file (Pinecone: at most 10 GB per file)."),
    "limits.too_many_namespaces": (ERROR, "Split the drop (Pinecone: at most 10,000 namespaces per import)."),
    "limits.total_bytes": (ERROR, "Split the drop (Pinecone: at most 1 TB per import on on-demand indexes)."),
    "limits.total_records": (ERROR, "Split the drop or raise max_total_records."),
    # against the index
    "index.namespace_exists": (
        ERROR,
        "Pinecone would fail the import after ≥10 minutes: pick a new namespace name or delete the namespace.",
    ),
    "index.vector_type_mismatch": (
        ERROR,
        "Dense values cannot go into a sparse index (and a dense index needs values).",
    ),
    # manifest
    "manifest.invalid_json": (
        ERROR,
        "The marker starts with '{' but is not valid JSON: fix the manifest or empty it.",
    ),
    "manifest.invalid": (ERROR, "The manifest does not match the documented shape (see the README)."),
    "manifest.too_large": (ERROR, "Keep the marker/manifest under 4 MiB."),
    "manifest.missing_file": (
        ERROR,
        "A file the manifest lists is not in the drop: finish uploading before the marker.",
    ),
    "manifest.unexpected_file": (
        ERROR,
        "The drop holds a Parquet file the manifest does not list: remove it or list it.",
    ),
    "manifest.size_mismatch": (
        ERROR,
        "The file's size differs from the manifest: re-upload it (partial upload?).",
    ),
    "manifest.rows_mismatch": (ERROR, "The file's row count (footer) differs from the manifest."),
    "manifest.total_rows_mismatch": (ERROR, "The rows in all footers differ from the manifest's total_rows."),
    "manifest.namespace_mismatch": (ERROR, "A namespace's files or rows differ from the manifest."),
}
"""Every problem code → (default severity, hint). The README documents this table."""


FILE_LEVEL_PREFIXES = ("file.", "schema.", "row.", "limits.file_too_large", "manifest.size_mismatch")
"""Codes whose problems always name one file (the property tests rely on this)."""


def problem(
    code: str,
    message: str,
    *,
    file: str | None = None,
    row: int | None = None,
    column: str | None = None,
    severity: Severity | None = None,
) -> Problem:
    """A :class:`Problem` with the code's default severity and hint."""
    default_severity, hint = CODES[code]
    return Problem(
        severity=severity or default_severity,
        code=code,
        message=message,
        file=file,
        row=row,
        column=column,
        hint=hint,
    )


def codes_markdown() -> str:
    """The problem-code registry as a Markdown table (for the README)."""
    lines = ["| code | severity | what to do |", "|---|---|---|"]
    for code, (severity, hint) in sorted(CODES.items()):
        escaped = hint.replace("|", "\\|")
        lines.append(f"| `{code}` | {severity.value} | {escaped} |")
    return "\n".join(lines) + "\n"
