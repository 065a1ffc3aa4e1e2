"""Pinecone's asynchronous error texts map to what the operator should do."""

from __future__ import annotations

import pytest

from functions.logic.remediation import for_pinecone_error, for_pipeline_error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            'User error: The namespace "namespace1" already exists. Imports are only allowed into nonexistent '
            "namespaces.",
            "namespace_exists",
        ),
        (
            'User error: "test-import/0.parquet": No namespace detected. Each file should be nested under a '
            "subdirectory of the URI prefix",
            "no_namespace",
        ),
        ('User error: No Parquet files found under "gs://example_bucket/imports"', "no_parquet_files"),
        (
            "User error: It looks like you specified a complete path to a parquet file as the URI prefix",
            "file_uri",
        ),
        (
            'User error: error reading record (file "/0.parquet", row 0): missing required values in column "values"',
            "missing_column",
        ),
        ('User error: Missing required column "id"', "missing_column"),
        ('User error: Unsupported column "blob"', "unsupported_column"),
        (
            'User error: error reading record (file "/0.parquet", row 3): Failed to parse metadata: expected value',
            "metadata",
        ),
        (
            "The expected data type for metadata is a JSON encoded string in UTF-8 format, but got Struct",
            "metadata",
        ),
        ("Vector dimension 768 does not match the dimension of the index 1536", "dimension"),
        ("User error: Upserting dense vectors is not supported for sparse indexes", "dense_into_sparse"),
        (
            "User error: No vectors added, all rows were skipped for namespace: example-namespace",
            "all_rows_skipped",
        ),
        ("User error: duplicate records found", "duplicates"),
        ("Parquet footer could not be parsed", "parquet_corrupt"),
        ("Bulk import URIs must start with the scheme of a supported storage provider", "uri_scheme"),
        ("Access Denied reading s3://b/p/", "storage_access"),
    ],
)
def test_known_pinecone_errors_have_a_hint(error: str, code: str) -> None:
    fix = for_pinecone_error(error)
    assert fix is not None
    assert fix.code == code
    assert len(fix.hint) > 20


def test_unknown_or_missing_errors_have_no_hint() -> None:
    assert for_pinecone_error("something entirely new") is None
    assert for_pinecone_error(None) is None


def test_pipeline_errors_are_matched_by_class_name() -> None:
    fix = for_pipeline_error("PineconeUnauthorized")
    assert fix is not None
    assert "API key" in fix.hint
    lambda_fix = for_pipeline_error("Lambda.TooManyRequestsException")
    assert lambda_fix is not None
    assert for_pipeline_error("SomethingElse") is None
