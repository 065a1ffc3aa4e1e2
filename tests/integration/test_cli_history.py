"""`autoimport history`: what happened to recent drops, read from the pipeline's ledger (DynamoDB on moto)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from functions.cli import app
from functions.integrations import aws
from functions.logic.drop import make_drop
from functions.models.handle import LedgerState, Outcome
from tests.fixtures.moto import MotoServer

runner = CliRunner()
T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _ledger_table(moto: MotoServer) -> str:
    name = f"ledger-{os.urandom(4).hex()}"
    moto.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "drop_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "drop_id", "KeyType": "HASH"}],
    )
    return name


def test_history_lists_recent_drops_newest_first(aws_env: MotoServer) -> None:
    # Given a ledger with three drops: one completed, one rejected, one still claimed
    aws.clear_caches()
    table = _ledger_table(aws_env)
    ledger = aws.DynamoLedger(table)
    drops = [
        make_drop(
            bucket="b",
            prefix=f"imports/d{i}/",
            marker_key=f"imports/d{i}/_SUCCESS",
            marker_etag=f"e{i}",
            marker_version_id=None,
        )
        for i in range(3)
    ]
    for i, drop in enumerate(drops):
        ledger.claim(drop, route="default", index_host="https://h", now=T0 + timedelta(minutes=i))
    ledger.mark(
        drops[0].drop_id, state=LedgerState.CLOSED, now=T0 + timedelta(hours=1), outcome=Outcome.COMPLETED
    )
    ledger.mark(
        drops[1].drop_id, state=LedgerState.REJECTED, now=T0 + timedelta(minutes=30), outcome=Outcome.REJECTED
    )

    # When the operator asks for the history
    result = runner.invoke(
        app,
        ["history", "--json"],
        env={"AUTOIMPORT_LEDGER_TABLE": table, "AWS_ENDPOINT_URL": aws_env.endpoint_url},
    )

    # Then every drop is listed, the most recently updated first, with its state and outcome
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["uri"] for r in rows] == ["s3://b/imports/d0/", "s3://b/imports/d1/", "s3://b/imports/d2/"]
    assert [(r["state"], r["outcome"]) for r in rows] == [
        ("Closed", "Completed"),
        ("Rejected", "Rejected"),
        ("Claimed", None),
    ]

    human = runner.invoke(app, ["history", "--table", table, "--limit", "1"], env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    assert "s3://b/imports/d0/" in human.output
    assert "imports/d1/" not in human.output
    assert "1 drop(s)" in human.output


def test_history_without_a_table_says_what_to_set() -> None:
    result = runner.invoke(app, ["history"], env={"AUTOIMPORT_LEDGER_TABLE": ""})
    assert result.exit_code == 2
    assert "AUTOIMPORT_LEDGER_TABLE" in result.output


def test_history_of_a_missing_table_is_one_clear_line(aws_env: MotoServer) -> None:
    aws.clear_caches()
    result = runner.invoke(app, ["history", "--table", "no-such-ledger"])
    assert result.exit_code == 2
    assert "no-such-ledger" in result.output
    assert "Traceback" not in result.output
