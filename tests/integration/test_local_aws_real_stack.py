"""The project's REAL synthesized stack (infra/) deploys into the local AWS and runs there.

Given the stack synthesized from the repo's cdk.json (the ``synthesized`` fixture of tests/fixtures/infra.py),
deployed with offline overrides (routes pointing at a local recording HTTP server, an API key stored in the
stack's Secrets Manager secret), then every role is found, the state machine that runs is the synthesized one,
and a marker upload reaches the real start_import handler through S3 → EventBridge → Lambda.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.aws.deploy import Deployment
from local.aws.runtime import LocalAws
from tests.fixtures.infra import Synthesized

pytestmark = pytest.mark.xdist_group("infra")
"""Synthesizes with CDK: runs on the worker that already has the CDK app loaded (and, for the real stack,
shares its session ``synthesized`` fixture)."""

API_KEY = "pcsk_local-aws-real-stack-key"
ROLES = {"start_import", "poll_import", "cancel_import", "finalize", "reconciler"}


class Recorder(BaseHTTPRequestHandler):
    """A stand-in index host: records each request and answers 400 (terminal: no client retries, so the
    failing start_import does not keep the local Lambda runtime busy for long)."""

    seen: list[dict[str, Any]]

    def _record(self) -> None:
        self.seen.append({"method": self.command, "path": self.path, "api_key": self.headers.get("Api-Key")})
        body = b'{"error": {"code": "INVALID_ARGUMENT", "message": "recording server"}}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def index_host() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("BoundRecorder", (Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def real(
    local_aws: LocalAws, synthesized: Synthesized, index_host: tuple[str, list[dict[str, Any]]]
) -> Deployment:
    routes = [{"name": "local", "prefix": "imports/", "index_host": index_host[0]}]
    return local_aws.deploy_template(
        synthesized.template,
        stack_name=f"RealStack{time.time_ns()}",
        environment={"AUTOIMPORT_ROUTES": json.dumps(routes), "AUTOIMPORT_POLL_WAIT_SCALE": "0.01"},
        secrets={"PineconeApiKey": API_KEY},
    )


def test_every_role_of_the_real_stack_is_found(local_aws: LocalAws, real: Deployment) -> None:
    assert set(real.functions) >= ROLES
    assert real.eventbridge_buckets == [real.bucket]  # the drop bucket (not the access-log bucket)
    assert len(real.of_type("AWS::S3::Bucket")) == 2
    assert real.topic_arn.startswith("arn:aws:sns:")
    assert len(real.tables) == 2
    assert len(real.secrets) == 1
    assert real.state_machine_arn.startswith("arn:aws:states:")
    assert real.rules
    assert real.event_bus == "default"
    stored = local_aws.client("secretsmanager").get_secret_value(SecretId=real.secrets[0])["SecretString"]
    assert stored == API_KEY


def test_functions_point_at_local_aws_and_the_executing_state_machine(
    local_aws: LocalAws, real: Deployment
) -> None:
    lam = local_aws.client("lambda")
    for role in ROLES:
        variables = lam.get_function_configuration(FunctionName=real.function(role))["Environment"][
            "Variables"
        ]
        assert variables["AWS_ENDPOINT_URL"] == local_aws.endpoint_url, role
        assert variables["AUTOIMPORT_POLL_WAIT_SCALE"] == "0.01", role
    start = lam.get_function_configuration(FunctionName=real.function("start_import"))["Environment"][
        "Variables"
    ]
    assert start["AUTOIMPORT_STATE_MACHINE_ARN"] == real.state_machine_arn
    assert start["PINECONE_API_KEY_SECRET_ID"] == real.secrets[0]
    # moto's CloudFormation ignores AWS::Lambda::EventInvokeConfig; the deployer applies it
    async_config = lam.get_function_event_invoke_config(FunctionName=real.function("start_import"))
    destination = async_config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination.rsplit(":", 1)[-1] == real.one("AWS::SQS::Queue").rsplit("/", 1)[-1]


def test_the_state_machine_that_runs_is_the_synthesized_one(
    local_aws: LocalAws, synthesized: Synthesized, real: Deployment
) -> None:
    described = local_aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=real.state_machine_arn
    )
    definition = json.loads(described["definition"])
    (_, machine) = synthesized.only("AWS::StepFunctions::StateMachine")
    # The template's definition is a Fn::Join; its literal parts name every state.
    literal = "".join(
        p for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1] if isinstance(p, str)
    )
    assert definition["StartAt"] in literal
    for state in definition["States"]:
        assert f'"{state}"' in literal, state


def test_a_marker_upload_runs_the_real_start_import(
    local_aws: LocalAws, real: Deployment, index_host: tuple[str, list[dict[str, Any]]]
) -> None:
    _, seen = index_host
    local_aws.client("s3").put_object(Bucket=real.bucket, Key="imports/drop-1/_SUCCESS", Body=b"")

    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.1)

    assert seen, f"start_import never called the index host; server log:\n{local_aws.log_tail()}"
    assert {request["api_key"] for request in seen} == {API_KEY}  # read from the stack's secret


def test_firing_the_reconciler_schedule_runs_the_real_reconciler(
    local_aws: LocalAws, real: Deployment, index_host: tuple[str, list[dict[str, Any]]]
) -> None:
    _, seen = index_host
    schedule = next(name for name in real.rules if "Reconciler" in name)
    before = len(seen)

    results = local_aws.fire_scheduled_rule(schedule)

    assert [r["target"].rsplit(":", 1)[-1] for r in results] == [real.function("reconciler")]
    assert results[0]["error"] is None, results
    assert any(request["path"].startswith("/bulk/imports") for request in seen[before:])
