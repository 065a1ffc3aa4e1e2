"""The operator CLI as a user runs it: real moto S3 over HTTP, the emulator over HTTP, exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from functions.cli import app, estimate_eta_s
from local.emulator.server import EmulatorServer
from tests.fixtures.drops import DropBuilder, good_rows
from tests.fixtures.emulator import API_KEY
from tests.fixtures.moto import MotoServer

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env or {}, catch_exceptions=False)


def plant_twelve_problems(drop: DropBuilder) -> dict[str, str]:
    """A drop with (at least) twelve different mistakes; returns code → file it must be reported against."""
    drop.add("good/part-0.parquet", good_rows(20))
    rows = good_rows(12)
    rows[1]["id"] = None  # row.missing_id
    rows[2]["id"] = "x" * 600  # row.id_too_long
    rows[3]["values"] = [0.0] * 8  # row.zero_vector
    rows[4]["values"] = [float("nan")] + [0.1] * 7  # row.non_finite
    rows[5]["metadata"] = "{not json"  # row.metadata_invalid_json
    rows[6]["metadata"] = "[1, 2]"  # row.metadata_not_object
    rows[7]["values"] = [0.5] * 5  # row.dimension_mismatch (index dimension 8)
    rows[8]["id"] = rows[9]["id"]  # row.duplicate_id
    drop.add("rows/part-0.parquet", rows)
    drop.add_bytes("stray.parquet", drop.path("good/part-0.parquet").read_bytes())  # layout.no_namespace
    drop.add_bytes("broken/part-0.parquet", b"PAR1 this is not parquet")  # file.unreadable_footer
    drop.add_bytes("zero/part-0.parquet", b"")  # file.zero_bytes
    drop.add_bytes("empty-ns/readme.txt", b"nothing here")  # layout.empty_namespace
    import pyarrow as pa

    extra = pa.table(
        {
            "id": ["a", "b"],
            "values": pa.array([[0.1] * 8, [0.2] * 8], pa.list_(pa.float32())),
            "metadata": ['{"a":1}', '{"b":2}'],
            "score": [1, 2],
        }
    )
    drop.add("extra/part-0.parquet", extra)  # schema.extra_column
    no_id = pa.table({"values": pa.array([[0.3] * 8], pa.list_(pa.float32()))})
    drop.add("noid/part-0.parquet", no_id)  # schema.missing_column
    return {
        "row.missing_id": "rows/part-0.parquet",
        "row.id_too_long": "rows/part-0.parquet",
        "row.zero_vector": "rows/part-0.parquet",
        "row.non_finite": "rows/part-0.parquet",
        "row.metadata_invalid_json": "rows/part-0.parquet",
        "row.metadata_not_object": "rows/part-0.parquet",
        "row.dimension_mismatch": "rows/part-0.parquet",
        "row.duplicate_id": "rows/part-0.parquet",
        "layout.no_namespace": "stray.parquet",
        "file.unreadable_footer": "broken/part-0.parquet",
        "file.zero_bytes": "zero/part-0.parquet",
        "layout.empty_namespace": "empty-ns",
        "schema.extra_column": "extra/part-0.parquet",
        "schema.missing_column": "noid/part-0.parquet",
    }


def test_validate_clean_s3_drop_exits_0_and_shows_namespaces(
    drop: DropBuilder, upload_drop: Any, aws_env: MotoServer
) -> None:
    # Given a clean drop of two namespaces in S3
    drop.add("products/part-0.parquet", good_rows(30))
    drop.add("products/part-1.parquet", good_rows(20, start=30))
    drop.add("reviews/part-0.parquet", good_rows(15, start=100))
    drop.marker()
    uri = upload_drop(drop, "imports/clean/")

    # When the operator validates it
    result = run("validate", uri, "--dimension", "8", env={"AWS_ENDPOINT_URL": aws_env.endpoint_url})

    # Then it is valid, and the summary names each namespace with its files and rows
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    assert "products" in result.output and "reviews" in result.output
    assert "65" in result.output  # total rows


def test_validate_reports_every_planted_problem_with_its_file(drop: DropBuilder) -> None:
    expected = plant_twelve_problems(drop)
    assert len(expected) >= 12

    result = run("validate", drop.uri, "--dimension", "8", "--json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is False
    found = {(p["code"], p["file"]) for p in report["problems"]}
    for code, file in expected.items():
        assert any(c == code and (f or "").rstrip("/").endswith(file) for c, f in found), (code, file, found)
    rows_file = [p for p in report["problems"] if p["code"] == "row.missing_id"]
    assert rows_file[0]["row"] == 1 and rows_file[0]["column"] == "id"


def test_validate_human_output_groups_problems_by_file(drop: DropBuilder) -> None:
    plant_twelve_problems(drop)

    result = run("validate", drop.uri, "--dimension", "8", env={"COLUMNS": "200"})

    assert result.exit_code == 1
    assert "INVALID" in result.output
    assert "rows/part-0.parquet" in result.output
    assert "row.metadata_invalid_json" in result.output
    assert "Traceback" not in result.output


def test_validate_unreachable_storage_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(
        "validate",
        "s3://no-such-bucket/imports/x/",
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"},
    )

    assert result.exit_code == 2
    assert "error:" in result.output
    assert "Traceback" not in result.output


def test_commands_without_api_key_fail_clearly() -> None:
    result = run("list", "--index-host", "http://127.0.0.1:9")

    assert result.exit_code == 2
    assert "PINECONE_API_KEY" in result.output


@pytest.fixture
def cli_env(emulator: EmulatorServer, aws_env: MotoServer) -> dict[str, str]:
    emulator.create_index("cli-index", dimension=8)
    return {
        "PINECONE_API_KEY": API_KEY,
        "PINECONE_INDEX_HOST": emulator.index_host("cli-index"),
        "AWS_ENDPOINT_URL": aws_env.endpoint_url,
    }


def test_start_list_describe_watch_against_the_emulator(
    cli_env: dict[str, str], drop: DropBuilder, upload_drop: Any
) -> None:
    # Given a clean drop in S3 and an empty 8-dimensional index
    drop.add("alpha/part-0.parquet", good_rows(25))
    drop.add("beta/part-0.parquet", good_rows(10, start=50))
    uri = upload_drop(drop, "imports/cli-1/")

    # When the operator starts the import (validation runs first)
    started = run("start", uri, "--error-mode", "continue", "--json", env=cli_env)
    assert started.exit_code == 0, started.output
    import_id = json.loads(started.stdout)["id"]

    # Then watch follows it to Completed and exits 0 with the record count
    watched = run("watch", import_id, "--interval", "0.1", "--timeout", "60", env=cli_env)
    assert watched.exit_code == 0, watched.output
    assert "Completed" in watched.output and "35 records" in watched.output

    # And list / describe show it
    listed = run("list", "--json", env=cli_env)
    assert [m["id"] for m in json.loads(listed.stdout)] == [import_id]
    described = run("describe", import_id, "--json", env=cli_env)
    body = json.loads(described.stdout)
    assert body["status"] == "Completed" and body["recordsImported"] == 35 and body["uri"] == uri


def test_start_refuses_an_invalid_drop_and_starts_nothing(
    cli_env: dict[str, str], drop: DropBuilder, upload_drop: Any, emulator: EmulatorServer
) -> None:
    rows = good_rows(5)
    rows[0]["values"] = [0.1] * 4  # wrong dimension for the index
    drop.add("alpha/part-0.parquet", rows)
    uri = upload_drop(drop, "imports/cli-bad/")

    result = run("start", uri, env=cli_env)

    assert result.exit_code == 1
    assert "not starting" in result.output
    assert json.loads(run("list", "--json", env=cli_env).stdout) == []


def test_cancel_a_running_import_then_watch_exits_1(
    cli_env: dict[str, str], drop: DropBuilder, upload_drop: Any, emulator: EmulatorServer
) -> None:
    emulator.reset(time_scale=1.0)  # realistic pace: the import stays running while we cancel
    drop.add("alpha/part-0.parquet", good_rows(5))
    uri = upload_drop(drop, "imports/cli-cancel/")
    import_id = json.loads(run("start", uri, "--no-validate", "--json", env=cli_env).stdout)["id"]

    cancelled = run("cancel", import_id, env=cli_env)
    assert cancelled.exit_code == 0, cancelled.output
    assert "Cancelled" in cancelled.output

    watched = run("watch", import_id, "--interval", "0.1", env=cli_env)
    assert watched.exit_code == 1
    assert "Cancelled" in watched.output


def test_wrong_api_key_is_one_clear_line(cli_env: dict[str, str]) -> None:
    result = run("list", env={**cli_env, "PINECONE_API_KEY": "wrong-key-123"})

    assert result.exit_code == 2
    assert "error:" in result.output
    assert "wrong-key-123" not in result.output
    assert "Traceback" not in result.output


def test_describe_unknown_import_exits_2(cli_env: dict[str, str]) -> None:
    result = run("describe", "999999", env=cli_env)
    assert result.exit_code == 2
    assert "999999" in result.output


def test_eta_estimate_from_progress() -> None:
    assert estimate_eta_s(None, (10.0, 50.0)) is None
    assert estimate_eta_s((0.0, 10.0), (10.0, 20.0)) == pytest.approx(80.0)
    assert estimate_eta_s((0.0, 10.0), (10.0, 100.0)) == 0.0
    assert estimate_eta_s((0.0, 30.0), (10.0, 30.0)) is None
