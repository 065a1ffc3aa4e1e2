"""Pinecone's import error texts (and our own pipeline errors) → what the operator should do.

Texts follow Pinecone's troubleshooting guide; matching is by pattern on Pinecone's wording, because that text is
all Pinecone gives back for an asynchronous failure. Our own errors are matched by class name, never by message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Remediation:
    code: str
    hint: str


_PINECONE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE), hint)
    for code, pattern, hint in (
        (
            "namespace_exists",
            r'namespace "?(?P<ns>[^"\s]*)"? already exists',
            "Imports only go into namespaces that do not exist yet. Rename the namespace folder in the drop "
            "(or delete the namespace from the index) and upload the marker again.",
        ),
        (
            "file_uri",
            r"complete path to a parquet file",
            "The import URI must be the drop folder, not a file or a namespace folder. Put the marker in "
            "<prefix><drop>/ with the data in <prefix><drop>/<namespace>/*.parquet.",
        ),
        (
            "no_namespace",
            r"no namespace detected",
            "Every Parquet file must sit in a namespace folder: <drop>/<namespace>/<file>.parquet "
            "(use __default__ for the default namespace). Move the files and upload the marker again.",
        ),
        (
            "no_parquet_files",
            r"no parquet files found",
            "No .parquet files were found under the drop. Check the file extension, that the files are in "
            "namespace folders, and that the upload finished before the marker was written.",
        ),
        (
            "all_rows_skipped",
            r"all rows were skipped for namespace",
            "Every row of a namespace was invalid and skipped (errorMode continue). Validate the files with "
            "`autoimport validate <uri>` to see the row-level problems, fix them and drop again.",
        ),
        (
            "missing_column",
            r"missing required (column|values in column)",
            "A required column (id, and values for dense / sparse_values for sparse indexes) is missing or "
            "null. Write it in every file and row.",
        ),
        (
            "unsupported_column",
            r"unsupported column",
            "Parquet files may only hold id, values, sparse_values and metadata. Drop the extra columns "
            "before writing the files.",
        ),
        (
            "metadata",
            r"(failed to parse metadata|metadata is a json encoded string)",
            "metadata must be a UTF-8 JSON string column (json.dumps per row), not a struct; keep each "
            "record's metadata under 40 KB.",
        ),
        (
            "dense_into_sparse",
            r"dense vectors is not supported for sparse",
            "The target index is sparse: write sparse_values (indices/values) instead of a values column, or "
            "route the drop to a dense index.",
        ),
        (
            "dimension",
            r"dimension",
            "The vector length must equal the index dimension. Re-embed with the index's model or route the "
            "drop to an index of the right dimension.",
        ),
        (
            "duplicates",
            r"duplicate",
            "Records with identical vector values count as duplicates: with abort the import fails, with "
            "continue all but the first are skipped. Remove the duplicates.",
        ),
        (
            "parquet_corrupt",
            r"(parquet footer|could not be parsed|corrupt)",
            "A Parquet file is truncated or not Parquet. Re-write it (pyarrow.parquet.write_table) and make "
            "sure the upload finished before the marker.",
        ),
        (
            "uri_scheme",
            r"must start with the scheme",
            "The URI must start with s3://, gs:// or an Azure blob https:// URL.",
        ),
        (
            "storage_access",
            r"(access ?denied|forbidden|not authorized|integration)",
            "Pinecone could not read the bucket. Check the storage integration (its IAM role, external ID and "
            "prefix) and the route's integration_id.",
        ),
    )
)

_PIPELINE_HINTS: dict[str, str] = {
    "PineconeUnauthorized": "The Pinecone API key was refused. Update the secret with a valid key for this project.",
    "PineconeNotFound": "The import or index was not found. Check the route's index_host.",
    "PineconeInvalidRequest": "Pinecone rejected the request; see the error text and the route's settings.",
    "PineconeRateLimited": "Pinecone kept throttling the pipeline. Lower the import rate or ask Pinecone for more.",
    "PineconeUnavailable": "Pinecone did not answer after several retries. Check status.pinecone.io; the import "
    "itself may still be running: `autoimport list`.",
    "StorageAccessDenied": "The function could not read the drop. Check the bucket policy and the function's role.",
    "StorageNotFound": "The drop disappeared before it could be read. Upload it again with a new marker.",
    "StorageUnavailable": "S3 did not answer after several retries. Upload the marker again to retry the drop.",
    "ConfigurationError": "The stack's settings are invalid; fix cdk.json and deploy again.",
    "States.Timeout": "A task took too long. Check the function logs; upload the marker again to retry.",
    "States.TaskFailed": "A task failed; check the function logs for the error.",
    "Lambda.Unknown": "The function crashed (out of memory or time). Check its logs and limits.",
}


def for_pinecone_error(error: str | None) -> Remediation | None:
    """The hint for a Pinecone ``error`` text, or None when the text is unknown."""
    if not error:
        return None
    for code, pattern, hint in _PINECONE_RULES:
        if pattern.search(error):
            return Remediation(code=code, hint=hint)
    return None


def for_pipeline_error(error_type: str | None) -> Remediation | None:
    """The hint for a pipeline error class name (Step Functions ``Error``)."""
    if not error_type:
        return None
    hint = _PIPELINE_HINTS.get(error_type)
    if hint is None and error_type.startswith("Lambda."):
        hint = _PIPELINE_HINTS["Lambda.Unknown"]
    return Remediation(code=error_type, hint=hint) if hint else None


def documented_remedies() -> list[tuple[str, str, str]]:
    """(code, the Pinecone wording matched, hint) per known Pinecone error, then (class, "", hint) per pipeline
    error: the README's troubleshooting table is rendered from this, so docs and code cannot drift."""
    rows = [(code, pattern.pattern, hint) for code, pattern, hint in _PINECONE_RULES]
    rows += [(name, "", hint) for name, hint in _PIPELINE_HINTS.items()]
    return rows
