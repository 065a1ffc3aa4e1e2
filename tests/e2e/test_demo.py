"""The demo's run (``run_demo``) on the session's offline pipeline, and ``--source`` with a user's directory.

Given the shared pipeline (so no second synth/deploy), when the demo runs, then it reports every step with a tick,
the Completed notification and its timing, the records in the index, and the rejected drop's report with the guide
to read it; it says ok only when all of that worked. The full ``autoimport demo`` (which boots its own pipeline)
runs the same code.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from local.demo import run_demo
from local.sample_data import read_source, sample_drop, write_drop
from tests.fixtures.e2e import E2E, E2E_DIMENSION

pytestmark = pytest.mark.xdist_group("e2e")


def recording_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=140, force_terminal=False, color_system=None), out


def test_the_demo_run_shows_every_step_and_ends_ok(e2e: E2E, drop_name: str) -> None:
    console, out = recording_console()
    names = [f"{drop_name}-a", f"{drop_name}-b"]

    result = run_demo(
        pipeline=e2e.pipeline,
        namespace_names=names,
        vectors_per_namespace=40,
        dimension=E2E_DIMENSION,
        console=console,
        timeout_s=60,
    )

    text = out.getvalue()
    assert result.ok, f"{result.error}\n{text}\n{e2e.server_log()}"
    assert result.outcome == "Completed"
    assert result.expected_rows == result.rows_in_index == 80
    assert result.marker_to_notification_s is not None and result.marker_to_notification_s > 0
    assert result.rejected_marker_to_notification_s is not None
    assert result.notification is not None and result.notification["import_id"] == result.import_id
    assert result.notification_attributes["outcome"] == "Completed"
    assert result.event is not None and result.event["detail-type"] == "Import Completed"
    assert result.ledger is not None and result.ledger["outcome"] == "Completed"
    assert result.ledger["drop"]["uri"] == result.drop_uri  # JSON held in the item is shown decoded
    assert result.query_matches and result.query_matches[0]["id"] == f"{names[0]}-000000"
    assert result.rejected_notification is not None and result.rejected_notification["outcome"] == "Rejected"
    assert result.report is not None and result.report["valid"] is False
    assert all(step.ok for step in result.steps)
    for shown in (
        "✔ Generate a sample drop",
        "Notification received: Completed",
        "SNS message attributes",
        "EventBridge event",
        "Ledger record",
        f"{names[0]}-000000",
        "Validation report",
        "How to read the report",
        "schema.missing_column",
        "Demo finished",
    ):
        assert shown in text
    assert e2e.pipeline.api_key not in text


def test_the_demo_imports_a_users_source_directory(e2e: E2E, drop_name: str, tmp_path: Path) -> None:
    console, out = recording_console()
    data = sample_drop(namespaces=[f"{drop_name}-mine"], rows_per_namespace=30, dimension=E2E_DIMENSION)
    source = write_drop(tmp_path / "my-drop", data.files)

    result = run_demo(source=source, pipeline=e2e.pipeline, rejected=False, console=console, timeout_s=60)

    assert result.ok, f"{result.error}\n{out.getvalue()}"
    assert result.rows_in_index == result.expected_rows == 30
    assert f"Read your drop from {source}" in out.getvalue()


def test_a_source_of_another_dimension_stops_the_demo_with_a_clear_error(
    e2e: E2E, drop_name: str, tmp_path: Path
) -> None:
    console, out = recording_console()
    data = sample_drop(namespaces=[f"{drop_name}-x"], rows_per_namespace=4, dimension=E2E_DIMENSION * 2)
    source = write_drop(tmp_path / "wide", data.files)

    result = run_demo(source=source, pipeline=e2e.pipeline, console=console, timeout_s=30)

    assert not result.ok
    assert (
        result.error == f"the drop's vectors have {E2E_DIMENSION * 2} dimensions; the pipeline's index has 16"
    )
    assert "Demo failed" in out.getvalue()
    assert "Traceback" not in out.getvalue()


def test_read_source_names_what_to_change(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    pq.write_table(pa.table({"id": ["a"], "values": [[0.1, 0.2]]}), loose / "part-0.parquet")
    with pytest.raises(
        ValueError, match=r"part-0\.parquet is not in a namespace folder; move it to <namespace>/"
    ):
        read_source(loose)

    no_values = tmp_path / "no-values"
    (no_values / "ns").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a"], "embedding": [[0.1, 0.2]]}), no_values / "ns" / "part-0.parquet")
    with pytest.raises(ValueError, match="no 'values' column"):
        read_source(no_values)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \.parquet files; lay it out as <namespace>/<file>\.parquet"):
        read_source(empty)
