"""``autoimport demo``: the whole pipeline offline, from a fresh clone, in under two minutes.

It synthesizes the CDK app (route → the emulator's index), boots the local AWS (moto + the real handlers) and the
Pinecone emulator, deploys the synthesized template, creates an index, then drops a realistic sample (or
``--source DIR``) into S3, marker last. The S3 event flows EventBridge → start_import → Step Functions →
finalize → SNS and EventBridge, while the terminal shows a live progress bar. It ends with the notification,
the EventBridge event, the ledger record and a query proving the records are in the index; then a drop with a
schema mistake is rejected and its report is shown.

``run_demo(...)`` is the same run without the command line; it returns a :class:`DemoResult` with timings (the
benchmark uses ``marker_to_notification_s``). :class:`OfflinePipeline` is the running pipeline itself (the e2e
tests share one per session).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import httpx
import typer
from boto3.dynamodb.types import TypeDeserializer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from functions.integrations.pinecone import PineconeClient
from functions.models.imports import ImportModel
from functions.settings import DEFAULT_API_VERSION, EVENT_SOURCE
from local.aws.deploy import Deployment
from local.aws.runtime import LocalAws
from local.emulator.server import EmulatorServer, free_port
from local.emulator.source import S3Settings
from local.emulator.state import EmulatorConfig
from local.sample_data import SampleDrop, read_source, sample_drop, schema_mistake_drop

DEMO_API_KEY = "pcsk_offline_demo_key"
"""The emulator's key; stored in the stack's Secrets Manager secret, never printed."""
ROUTE_NAME = "demo"
ROUTE_PREFIX = "imports/"
MARKER = "_SUCCESS"
DEFAULT_POLL: dict[str, Any] = {
    "first_wait_s": 2,
    "min_wait_s": 1,
    "max_wait_s": 2,
    "backoff": 1.0,
    "jitter": 0.1,
    "deadline_s": 600,
}
"""The demo route's poll policy (cdk.json context for this synth only): seconds instead of minutes."""
DYNAMO = TypeDeserializer()


class DemoError(RuntimeError):
    """A demo step failed; the message says which and what to look at."""


# --- the running pipeline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One SNS message as the subscribed queue received it."""

    subject: str | None
    message: dict[str, Any]
    attributes: dict[str, str]
    received_at: float
    """``time.monotonic()`` when it was read from the queue."""

    @property
    def outcome(self) -> str | None:
        value = self.message.get("outcome")
        return str(value) if value is not None else None

    @property
    def drop_uri(self) -> str | None:
        return (self.message.get("drop") or {}).get("uri")


@dataclass(frozen=True)
class UploadedDrop:
    uri: str
    prefix: str
    marker_key: str
    marker_etag: str
    marker_version_id: str | None
    marker_uploaded_at: float
    """``time.monotonic()`` just before the marker upload was sent (marker → notification timings start here)."""
    rows_per_namespace: dict[str, int]


class Inbox:
    """Reads an SQS queue into a local list, so messages for other drops wait for whoever asks for them."""

    def __init__(self, sqs: Any, queue_url: str, parse: Callable[[dict[str, Any]], Any]) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.parse = parse
        self.items: list[Any] = []

    def drain(self, *, max_batches: int = 20) -> int:
        """Move what is waiting in the queue into ``items`` (bounded); returns how many arrived."""
        arrived = 0
        for _ in range(max_batches):
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            for message in messages:
                self.items.append(self.parse(json.loads(message["Body"])))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            arrived += len(messages)
            if not messages:
                break
        return arrived

    def matching(self, predicate: Callable[[Any], bool]) -> list[Any]:
        self.drain()
        return [item for item in self.items if predicate(item)]

    def wait_for(self, predicate: Callable[[Any], bool], *, timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.matching(predicate)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise DemoError(f"{what} did not arrive within {timeout_s:.0f} s")
            time.sleep(0.1)


def _parse_sns(body: dict[str, Any]) -> Notification:
    attributes = {k: str(v.get("Value")) for k, v in (body.get("MessageAttributes") or {}).items()}
    raw = body.get("Message", "{}")
    try:
        message = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except json.JSONDecodeError:
        message = {"text": raw}
    return Notification(
        subject=body.get("Subject"), message=message, attributes=attributes, received_at=time.monotonic()
    )


def _parse_event(body: dict[str, Any]) -> dict[str, Any]:
    return body


class OfflinePipeline:
    """The local AWS with the synthesized stack deployed, the Pinecone emulator with one index, and two queues
    that receive what a user would (the SNS topic's messages and the ``pinecone.autoimport`` events).

        with OfflinePipeline(dimension=16).start() as pipeline:
            drop = pipeline.upload_drop(sample_drop(dimension=16), "d1")
            note = pipeline.wait_for_notification(drop.uri)
    """

    def __init__(
        self,
        *,
        index_name: str = "demo-index",
        dimension: int = 64,
        emulator_time_scale: float = 0.01,
        poll: dict[str, Any] | None = None,
        error_mode: str = "abort",
        work_dir: Path | None = None,
        stack_name: str | None = None,
        on_step: Callable[[str, float], None] | None = None,
    ) -> None:
        self.index_name = index_name
        self.dimension = dimension
        self.emulator_time_scale = emulator_time_scale
        self.poll = dict(poll or DEFAULT_POLL)
        self.error_mode = error_mode
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="autoimport-demo-"))
        self.stack_name = stack_name or f"PineconeAutoImportDemo{os.urandom(3).hex()}"
        self.on_step = on_step or (lambda _name, _seconds: None)
        self.aws = LocalAws(log_path=self.work_dir / "local-aws.log", retry_delay_s=0.2)
        self.emulator: EmulatorServer | None = None
        self.deployment: Deployment | None = None
        self.template: dict[str, Any] | None = None
        self._emulator_port = free_port()
        self._notifications: Inbox | None = None
        self._events: Inbox | None = None
        self._pinecone: PineconeClient | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------
    @property
    def index_host(self) -> str:
        return f"http://127.0.0.1:{self._emulator_port}/index/{self.index_name}"

    @property
    def api_key(self) -> str:
        return DEMO_API_KEY

    def route(self) -> dict[str, Any]:
        return {
            "name": ROUTE_NAME,
            "prefix": ROUTE_PREFIX,
            "index_host": self.index_host,
            "index_name": self.index_name,
            "error_mode": self.error_mode,
            "poll": self.poll,
        }

    def context(self) -> dict[str, Any]:
        """cdk.json context for this run: the route to the emulator, no layers, no reconciler schedule."""
        return {
            "autoimport:routes": [self.route()],
            "autoimport:layers": False,
            "autoimport:reconciler_rate_minutes": 0,
            "autoimport:nag": False,
            "autoimport:bundling": "none",
        }

    def start(self) -> OfflinePipeline:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        started_aws: list[BaseException | None] = []

        def boot_aws() -> None:
            try:
                self.aws.start()
                started_aws.append(None)
            except BaseException as exc:  # reported on the main thread
                started_aws.append(exc)

        began = time.monotonic()
        booting = threading.Thread(target=boot_aws, name="local-aws-boot", daemon=True)
        booting.start()
        with self._timed("Synthesize the CDK app (route → the emulator's index)"):
            self.template = synthesize(self.context())
        booting.join(timeout=120)
        if not started_aws:
            raise DemoError(f"the local AWS did not start in time; see {self.aws.log_path}")
        if started_aws[0] is not None:
            raise DemoError(f"the local AWS did not start: {started_aws[0]}") from started_aws[0]
        self.on_step(
            "Boot the local AWS (moto server running the real handlers), alongside the synth",
            time.monotonic() - began,
        )

        with self._timed(
            f"Start the Pinecone emulator and create index {self.index_name!r} ({self.dimension}-d)"
        ):
            self.emulator = EmulatorServer(
                port=self._emulator_port,
                config=EmulatorConfig(
                    api_key=DEMO_API_KEY,
                    time_scale=self.emulator_time_scale,
                    s3=S3Settings(
                        endpoint_url=self.aws.endpoint_url,
                        region=self.aws.region,
                        access_key_id="testing",
                        secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
                    ),
                ),
            ).start()
            self.emulator.create_index(self.index_name, dimension=self.dimension)

        with self._timed("Deploy the synthesized stack into the local AWS (API key → Secrets Manager)"):
            self.deployment = self.aws.deploy_template(
                self.template,
                stack_name=self.stack_name,
                secrets={"PineconeApiKey": DEMO_API_KEY},
            )
            self._listen()

    def _listen(self) -> None:
        """Subscribe a queue to the topic and route ``pinecone.autoimport`` events to another."""
        assert self.deployment is not None
        sqs = self.aws.client("sqs")
        suffix = os.urandom(3).hex()
        notifications = sqs.create_queue(QueueName=f"demo-notifications-{suffix}")["QueueUrl"]
        events = sqs.create_queue(QueueName=f"demo-events-{suffix}")["QueueUrl"]

        def arn(url: str) -> str:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return str(attrs["Attributes"]["QueueArn"])

        self.aws.client("sns").subscribe(
            TopicArn=self.deployment.topic_arn, Protocol="sqs", Endpoint=arn(notifications)
        )
        rules = self.aws.client("events")
        rule = f"demo-capture-{suffix}"
        rules.put_rule(Name=rule, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        rules.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn(events)}])
        self._notifications = Inbox(sqs, notifications, _parse_sns)
        self._events = Inbox(sqs, events, _parse_event)

    def close(self) -> None:
        if self._pinecone is not None:
            self._pinecone.close()
            self._pinecone = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self.aws.stop()

    def __enter__(self) -> OfflinePipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.on_step(name, time.monotonic() - began)

    # -- what a producer does ---------------------------------------------------------------------------------
    @property
    def bucket(self) -> str:
        return self.deployed.bucket

    @property
    def deployed(self) -> Deployment:
        """The deployed stack (raises if the pipeline is not started)."""
        if self.deployment is None:
            raise DemoError("the pipeline is not started: call start()")
        return self.deployment

    def upload_drop(self, drop: SampleDrop, name: str, *, marker: bytes = b"") -> UploadedDrop:
        """Upload the files under ``imports/<name>/`` and then the marker (last, as producers must)."""
        s3 = self.aws.client("s3")
        prefix = f"{ROUTE_PREFIX}{name.strip('/')}/"
        for relative, data in sorted(drop.files.items()):
            s3.put_object(Bucket=self.bucket, Key=prefix + relative, Body=data)
        marker_sent_at = (
            time.monotonic()
        )  # before the PUT: the local S3 may deliver the event before it returns
        response = s3.put_object(Bucket=self.bucket, Key=prefix + MARKER, Body=marker)
        return UploadedDrop(
            uri=f"s3://{self.bucket}/{prefix}",
            prefix=prefix,
            marker_key=prefix + MARKER,
            marker_etag=str(response["ETag"]).strip('"'),
            marker_version_id=response.get("VersionId"),
            marker_uploaded_at=marker_sent_at,
            rows_per_namespace=dict(drop.rows_per_namespace),
        )

    # -- what a user sees -------------------------------------------------------------------------------------
    def notifications(self, uri: str) -> list[Notification]:
        assert self._notifications is not None
        found: list[Notification] = self._notifications.matching(lambda n: n.drop_uri == uri)
        return found

    def wait_for_notification(
        self, uri: str, *, outcome: str | None = None, timeout_s: float = 60.0
    ) -> Notification:
        """The first SNS message about this drop (with this ``outcome``, if given)."""
        assert self._notifications is not None
        found: Notification = self._notifications.wait_for(
            lambda n: n.drop_uri == uri and (outcome is None or n.outcome == outcome),
            timeout_s=timeout_s,
            what=f"the {outcome or 'SNS'} notification for {uri}",
        )
        return found

    def events(self, uri: str) -> list[dict[str, Any]]:
        assert self._events is not None
        found: list[dict[str, Any]] = self._events.matching(lambda e: _event_uri(e) == uri)
        return found

    def wait_for_event(self, uri: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
        assert self._events is not None
        found: dict[str, Any] = self._events.wait_for(
            lambda e: _event_uri(e) == uri, timeout_s=timeout_s, what=f"the EventBridge event for {uri}"
        )
        return found

    def ledger_record(self, uri: str) -> dict[str, Any] | None:
        """The drop's ledger item (DynamoDB), as plain values."""
        table = self.deployed.table("DataLedger")
        pages = (
            self.aws.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=table,
                FilterExpression="#u = :u",
                ExpressionAttributeNames={"#u": "uri"},
                ExpressionAttributeValues={":u": {"S": uri}},
                PaginationConfig={"MaxItems": 1000},
            )
        )
        for page in pages:
            for item in page.get("Items", []):
                return {k: _plain(DYNAMO.deserialize(v)) for k, v in item.items()}
        return None

    def executions(self, uri: str) -> list[dict[str, Any]]:
        """State machine executions whose input is this drop's import handle."""
        sfn = self.aws.client("stepfunctions")
        found = []
        listed = sfn.list_executions(stateMachineArn=self.deployed.state_machine_arn, maxResults=1000)
        for execution in listed["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.dumps(uri) in described.get("input", ""):
                found.append(described)
        return found

    @property
    def pinecone(self) -> PineconeClient:
        if self._pinecone is None:
            self._pinecone = PineconeClient(host=self.index_host, api_key=DEMO_API_KEY, timeout=10.0)
        return self._pinecone

    def imports(self, uri: str) -> list[ImportModel]:
        """Pinecone imports of this drop (newest first)."""
        return [m for m in self.pinecone.list_imports(max_pages=20) if m.uri.rstrip("/") == uri.rstrip("/")]

    def namespace_counts(self) -> dict[str, int]:
        stats = self.pinecone.describe_index_stats()
        return {name: ns.vector_count for name, ns in stats.namespaces.items()}

    def query(self, namespace: str, vector: list[float], *, top_k: int = 3) -> list[dict[str, Any]]:
        """Nearest records in one namespace (the data plane's /query, as any Pinecone client sends it)."""
        response = httpx.post(
            f"{self.index_host}/query",
            headers={"Api-Key": DEMO_API_KEY, "X-Pinecone-Api-Version": DEFAULT_API_VERSION},
            json={"namespace": namespace, "vector": vector, "topK": top_k, "includeMetadata": True},
            timeout=10.0,
        )
        response.raise_for_status()
        matches: list[dict[str, Any]] = response.json().get("matches", [])
        return matches

    def read_s3_json(self, uri: str) -> Any:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)


def _plain(value: Any) -> Any:
    """DynamoDB values as JSON would show them: numbers as int/float, JSON-in-a-string decoded."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):  # Decimal
        return int(value) if value == int(value) else float(value)
    return value


def _event_uri(event: dict[str, Any]) -> str | None:
    detail = event.get("detail") or {}
    drop = detail.get("drop") if isinstance(detail, dict) else None
    return drop.get("uri") if isinstance(drop, dict) else None


def synthesize(context: dict[str, Any]) -> dict[str, Any]:
    """The stack's CloudFormation template from the CDK app, with ``context`` over the repo's cdk.json."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    from infra.app import synthesize_template

    return synthesize_template(context)


# --- the demo run ---------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    seconds: float
    ok: bool = True
    detail: str | None = None


@dataclass
class DemoResult:
    """What the demo did and how long it took (``marker_to_notification_s`` is the benchmark's figure)."""

    ok: bool = False
    steps: list[StepResult] = field(default_factory=list)
    drop_uri: str | None = None
    import_id: str | None = None
    outcome: str | None = None
    expected_rows: int = 0
    rows_in_index: int | None = None
    marker_to_notification_s: float | None = None
    rejected_marker_to_notification_s: float | None = None
    notification: dict[str, Any] | None = None
    notification_attributes: dict[str, str] = field(default_factory=dict)
    event: dict[str, Any] | None = None
    ledger: dict[str, Any] | None = None
    query_matches: list[dict[str, Any]] = field(default_factory=list)
    rejected_notification: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    total_s: float = 0.0
    error: str | None = None
    log_path: str | None = None


class _Steps:
    """Prints each finished step with a tick and records it in the result."""

    def __init__(self, console: Console, result: DemoResult) -> None:
        self.console = console
        self.result = result

    def done(self, name: str, seconds: float, detail: str | None = None) -> None:
        self.result.steps.append(StepResult(name=name, seconds=seconds, detail=detail))
        extra = f" [dim]{detail}[/]" if detail else ""
        self.console.print(f"[bold green]✔[/] {name} [dim]({seconds:.1f} s)[/]{extra}", highlight=False)

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Run a step under a spinner; append to the yielded list to add a detail to its line."""
        began = time.monotonic()
        details: list[str] = []
        try:
            with self.console.status(f"{name} …", spinner="dots"):
                yield details
        except BaseException as exc:
            seconds = time.monotonic() - began
            self.result.steps.append(StepResult(name=name, seconds=seconds, ok=False, detail=str(exc)))
            self.console.print(f"[bold red]✘[/] {name} [dim]({seconds:.1f} s)[/]", highlight=False)
            raise
        self.done(name, time.monotonic() - began, "; ".join(details) or None)


def run_demo(
    *,
    source: Path | None = None,
    namespaces: int = 3,
    namespace_names: Sequence[str] | None = None,
    vectors_per_namespace: int = 1500,
    dimension: int = 64,
    rejected: bool = True,
    emulator_time_scale: float = 0.01,
    timeout_s: float = 90.0,
    console: Console | None = None,
    work_dir: Path | None = None,
    pipeline: OfflinePipeline | None = None,
) -> DemoResult:
    """Run the offline pipeline end to end (see the module docstring); never raises for a failed step.

    ``console``: where the live output goes (``Console(quiet=True)`` for none). ``timeout_s`` bounds each wait
    for a notification. ``namespace_names`` overrides the generated namespaces (``namespaces`` counts them).
    ``pipeline``: a started :class:`OfflinePipeline` to use (and leave running) instead of booting one; its
    index dimension must match the drop's. The result's ``ok`` is True only if every step worked.
    """
    console = console or Console()
    # an emulated import takes 630 emulated seconds: never wait less than that at the chosen pace
    timeout_s = max(timeout_s, 630 * emulator_time_scale * 1.5 + 30)
    result = DemoResult()
    steps = _Steps(console, result)
    began = time.monotonic()
    owned: OfflinePipeline | None = None
    try:
        names = list(namespace_names or _namespace_names(namespaces))
        drop = _load_drop(source, names, vectors_per_namespace, dimension, steps)
        result.expected_rows = drop.total_rows
        if pipeline is None:
            pipeline = owned = OfflinePipeline(
                dimension=drop.dimension,
                emulator_time_scale=emulator_time_scale,
                work_dir=work_dir,
                on_step=steps.done,
            )
            result.log_path = str(pipeline.aws.log_path)
            console.print(f"[dim]local AWS log: {pipeline.aws.log_path}[/]")
            with console.status("Starting the offline pipeline …", spinner="dots"):
                pipeline.start()
        elif pipeline.dimension != drop.dimension:
            raise DemoError(
                f"the drop's vectors have {drop.dimension} dimensions; the pipeline's index has {pipeline.dimension}"
            )
        result.log_path = str(pipeline.aws.log_path)
        _happy_path(pipeline, drop, result, steps, console, timeout_s)
        if rejected:
            _rejected_drop(pipeline, drop.dimension, result, steps, console, timeout_s)
        result.ok = result.outcome == "Completed" and (not rejected or result.report is not None)
    except Exception as exc:  # one readable line, never a traceback
        result.ok = False
        result.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DemoError) else str(exc)
        console.print(f"[bold red]The demo stopped:[/] {result.error}", soft_wrap=True)
        if result.log_path:
            console.print(f"[dim]local AWS log: {result.log_path}[/]")
    finally:
        if owned is not None:
            with console.status("Stopping the local AWS and the emulator …", spinner="dots"):
                owned.close()
    result.total_s = time.monotonic() - began
    verdict = "[bold green]Demo finished[/]" if result.ok else "[bold red]Demo failed[/]"
    console.print(f"\n{verdict} in {result.total_s:.1f} s.", highlight=False)
    return result


def _namespace_names(count: int) -> list[str]:
    from local.sample_data import DEFAULT_NAMESPACES

    names = [*DEFAULT_NAMESPACES, *(f"namespace-{i}" for i in range(len(DEFAULT_NAMESPACES), count))]
    return names[: max(1, count)]


def _load_drop(
    source: Path | None, names: list[str], vectors_per_namespace: int, dimension: int, steps: _Steps
) -> SampleDrop:
    if source is not None:
        with steps.step(f"Read your drop from {source}") as details:
            drop = read_source(source)
            details.append(_drop_summary(drop))
        return drop
    with steps.step("Generate a sample drop") as details:
        drop = sample_drop(namespaces=names, rows_per_namespace=vectors_per_namespace, dimension=dimension)
        details.append(_drop_summary(drop))
    return drop


def _drop_summary(drop: SampleDrop) -> str:
    return (
        f"{len(drop.rows_per_namespace)} namespaces, {len(drop.files)} Parquet files, "
        f"{drop.total_rows:,} vectors of {drop.dimension} dimensions, {drop.total_bytes / 1e6:.1f} MB"
    )


def _happy_path(
    pipeline: OfflinePipeline,
    drop: SampleDrop,
    result: DemoResult,
    steps: _Steps,
    console: Console,
    timeout_s: float,
) -> None:
    name = time.strftime("drop-%Y%m%d-%H%M%S-") + os.urandom(2).hex()
    with steps.step(
        f"Upload the drop to s3://{pipeline.bucket}/{ROUTE_PREFIX}{name}/, then the marker"
    ) as details:
        uploaded = pipeline.upload_drop(drop, name)
        details.append(f"{len(drop.files)} files + {MARKER}")
    result.drop_uri = uploaded.uri

    note = _follow(pipeline, uploaded, console, timeout_s)
    result.marker_to_notification_s = note.received_at - uploaded.marker_uploaded_at
    result.notification = note.message
    result.notification_attributes = note.attributes
    result.outcome = note.outcome
    result.import_id = note.message.get("import_id")
    steps.done(
        f"Notification received: {note.outcome}",
        result.marker_to_notification_s,
        "marker upload → SNS message",
    )
    _show_notification(console, note)

    with steps.step("EventBridge event (rule → SQS)"):
        result.event = pipeline.wait_for_event(uploaded.uri, timeout_s=timeout_s)
    _show_json(
        console,
        "EventBridge event (what your rules match: source, detail-type, detail)",
        _brief(result.event),
    )

    with steps.step("Ledger record (DynamoDB)"):
        result.ledger = pipeline.ledger_record(uploaded.uri)
        if result.ledger is None:
            raise DemoError(f"no ledger record for {uploaded.uri}")
    _show_json(
        console, "Ledger record (one per drop: what happened, so nothing happens twice)", result.ledger
    )

    with steps.step("Query the index: the records are there") as details:
        counts = pipeline.namespace_counts()
        result.rows_in_index = sum(counts.get(ns, 0) for ns in drop.rows_per_namespace)
        namespace, record_id, vector = _first_record(drop)
        result.query_matches = pipeline.query(namespace, vector)
        details.append(f"{result.rows_in_index:,} of {drop.total_rows:,} records in the index")
    _show_query(console, counts, drop, namespace, record_id, result.query_matches)
    if note.outcome != "Completed":
        raise DemoError(f"the import ended {note.outcome}: {note.message.get('summary')}")
    if result.rows_in_index != drop.total_rows:
        raise DemoError(f"the index holds {result.rows_in_index} of the drop's {drop.total_rows} records")
    if not result.query_matches or result.query_matches[0].get("id") != record_id:
        raise DemoError(f"querying with {record_id}'s own vector did not return {record_id} first")


def _follow(
    pipeline: OfflinePipeline, uploaded: UploadedDrop, console: Console, timeout_s: float
) -> Notification:
    """A live progress bar of the import until its notification arrives (bounded by ``timeout_s``)."""
    expected = sum(uploaded.rows_per_namespace.values())
    deadline = time.monotonic() + timeout_s
    with Progress(
        TextColumn("[bold]{task.description}"),
        TextColumn("[cyan]{task.fields[status]:<11}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[records]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("Import", total=100.0, status="validating", records="")
        tracker = _Tracker(pipeline, uploaded.uri)
        while True:
            notes = pipeline.notifications(uploaded.uri)
            if notes:
                note = notes[0]
                status = note.message.get("status") or note.outcome or "?"
                progress.update(task, status=status, completed=100.0 if note.outcome == "Completed" else None)
                return note
            imports = pipeline.imports(uploaded.uri)
            if imports:
                model = imports[0]
                status = model.status
                if status == "InProgress" and (model.percent_complete or 0) >= 100:
                    status = "indexing"
                progress.update(
                    task,
                    description=f"Import {model.id}",
                    status=status,
                    completed=model.percent_complete or 0.0,
                    records=f"{model.records_imported or 0:,}/{expected:,} records",
                )
            ended = tracker.ended()
            if ended is not None and time.monotonic() - tracker.ended_at > NOTIFICATION_GRACE_S:
                raise DemoError(
                    f"the tracker (state machine execution) ended {ended} without a notification for "
                    f"{uploaded.uri}; see {pipeline.aws.log_path}"
                )
            if time.monotonic() >= deadline:
                raise DemoError(
                    f"no notification for {uploaded.uri} within {timeout_s:.0f} s; see {pipeline.aws.log_path}"
                )
            time.sleep(0.25)


NOTIFICATION_GRACE_S = 10.0
"""How long after its tracker ended a drop's notification may still be on its way."""


class _Tracker:
    """The drop's state machine execution, found through the ledger (looked up at most once a second)."""

    def __init__(self, pipeline: OfflinePipeline, uri: str) -> None:
        self.pipeline = pipeline
        self.uri = uri
        self.execution_arn: str | None = None
        self.ended_at = 0.0
        self._ending: str | None = None
        self._next_look = 0.0

    def ended(self) -> str | None:
        """``FAILED (error: cause)`` once the execution is over, else None."""
        now = time.monotonic()
        if self._ending is not None or now < self._next_look:
            return self._ending
        self._next_look = now + 1.0
        if self.execution_arn is None:
            record = self.pipeline.ledger_record(self.uri) or {}
            self.execution_arn = record.get("execution_arn")
            if self.execution_arn is None:
                return None
        described = self.pipeline.aws.client("stepfunctions").describe_execution(
            executionArn=self.execution_arn
        )
        if described["status"] == "RUNNING":
            return None
        reason = ": ".join(str(described[k]) for k in ("error", "cause") if described.get(k))
        self._ending = f"{described['status']}" + (f" ({reason})" if reason else "")
        self.ended_at = now
        return self._ending


def _show_notification(console: Console, note: Notification) -> None:
    attributes = Table(title="SNS message attributes (filter subscriptions on these)", show_header=True)
    attributes.add_column("attribute")
    attributes.add_column("value")
    for key, value in sorted(note.attributes.items()):
        attributes.add_row(key, value)
    _show_json(console, f"SNS notification — Subject: {note.subject}", note.message)
    console.print(attributes)


EVENT_DETAIL_SHOWN = ("outcome", "status", "route", "index", "import_id", "summary")


def _brief(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its detail cut to the fields rules usually match (the detail is the notification above)."""
    detail = event.get("detail") or {}
    brief = {k: detail[k] for k in EVENT_DETAIL_SHOWN if k in detail}
    brief["drop"] = {"uri": (detail.get("drop") or {}).get("uri")}
    brief["…"] = "the rest of detail is the SNS notification shown above"
    return {**event, "detail": brief}


def _show_json(console: Console, title: str, data: Any) -> None:
    console.rule(f"[bold]{title}", align="left")
    console.print_json(data=data, default=str)


def _first_record(drop: SampleDrop) -> tuple[str, str, list[float]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    relative = sorted(drop.files)[0]
    table = pq.read_table(pa.BufferReader(drop.files[relative]), columns=["id", "values"]).slice(0, 1)
    row = table.to_pylist()[0]
    return relative.split("/", 1)[0], str(row["id"]), [float(v) for v in row["values"]]


def _show_query(
    console: Console,
    counts: dict[str, int],
    drop: SampleDrop,
    namespace: str,
    record_id: str,
    matches: list[dict[str, Any]],
) -> None:
    table = Table(title="Index stats (describe_index_stats)")
    table.add_column("namespace")
    table.add_column("in the drop", justify="right")
    table.add_column("in the index", justify="right")
    for ns, rows in sorted(drop.rows_per_namespace.items()):
        table.add_row(ns, f"{rows:,}", f"{counts.get(ns, 0):,}")
    console.print(table)
    hits = Table(title=f"query(namespace={namespace!r}, vector=<{record_id}'s vector>, top_k=3)")
    hits.add_column("id")
    hits.add_column("score", justify="right")
    hits.add_column("metadata")
    for match in matches:
        hits.add_row(
            str(match.get("id")),
            f"{float(match.get('score', 0.0)):.4f}",
            json.dumps(match.get("metadata"), separators=(",", ":")),
        )
    console.print(hits)


def _rejected_drop(
    pipeline: OfflinePipeline,
    dimension: int,
    result: DemoResult,
    steps: _Steps,
    console: Console,
    timeout_s: float,
) -> None:
    console.rule("A drop with a schema mistake")
    name = time.strftime("drop-%Y%m%d-%H%M%S-") + os.urandom(2).hex() + "-schema-mistake"
    with steps.step(f"Upload {name}/: vectors in a column named 'embedding' instead of 'values'"):
        uploaded = pipeline.upload_drop(schema_mistake_drop(dimension=dimension), name)
    with steps.step("Wait for the Rejected notification") as details:
        note = pipeline.wait_for_notification(uploaded.uri, timeout_s=timeout_s)
        result.rejected_marker_to_notification_s = note.received_at - uploaded.marker_uploaded_at
        result.rejected_notification = note.message
        details.append(f"{note.outcome} {result.rejected_marker_to_notification_s:.1f} s after the marker")
    if note.outcome != "Rejected":
        raise DemoError(f"the schema mistake drop ended {note.outcome}, expected Rejected")
    _show_json(console, f"SNS notification — Subject: {note.subject}", note.message)
    report_uri = note.message.get("report_uri")
    if not report_uri:
        raise DemoError("the Rejected notification names no report_uri")
    with steps.step(f"Read the report {report_uri}"):
        result.report = pipeline.read_s3_json(report_uri)
    _show_json(console, f"Validation report ({report_uri})", result.report)
    guide = Table(title="How to read the report", show_header=False)
    guide.add_column(style="bold", no_wrap=True)
    guide.add_column()
    for name, meaning in HOW_TO_READ_THE_REPORT:
        guide.add_row(name, meaning)
    console.print(guide)
    if pipeline.imports(uploaded.uri):
        raise DemoError("the rejected drop reached Pinecone")


HOW_TO_READ_THE_REPORT: tuple[tuple[str, str], ...] = (
    ("valid", "false: the drop was stopped before anything was sent to Pinecone."),
    (
        "problems",
        "Every problem found, not only the first. severity: error stops the drop (warning and info do not); "
        "code: a stable name such as schema.missing_column; file (relative to the drop), row and column when "
        "known; message: what is wrong; hint: what to change.",
    ),
    ("namespaces", "Files, bytes and rows per namespace folder, counted from the Parquet footers."),
    ("totals", "The same for the whole drop; bytes_read shows how little was read (footers and a sample)."),
    (
        "then",
        "Fix the files, upload them again, then upload the marker again (a new marker is a new attempt). "
        "Check a drop before uploading it with: autoimport validate <dir or s3 uri>.",
    ),
)


# --- the command ----------------------------------------------------------------------------------------------


def demo_command(
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            exists=True,
            file_okay=False,
            dir_okay=True,
            resolve_path=True,
            help="Import your own drop directory (<namespace>/*.parquet, dense vectors) instead of a generated one.",
        ),
    ] = None,
    namespaces: Annotated[int, typer.Option("--namespaces", min=1, max=20, help="Generated namespaces.")] = 3,
    vectors: Annotated[
        int, typer.Option("--vectors", min=2, max=100_000, help="Generated vectors per namespace.")
    ] = 1500,
    dimension: Annotated[
        int, typer.Option("--dimension", min=2, max=2048, help="Generated vector size.")
    ] = 64,
    rejected: Annotated[
        bool, typer.Option("--rejected/--no-rejected", help="Also show a rejected drop and its report.")
    ] = True,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            min=0.0001,
            max=1.0,
            help="Emulated Pinecone pace (1.0: a real import's 10+ minutes).",
        ),
    ] = 0.01,
    timeout: Annotated[
        float, typer.Option("--timeout", min=10, help="Seconds to wait for each notification.")
    ] = 90.0,
) -> None:
    """Run the whole pipeline offline: S3 drop → EventBridge → start_import → Step Functions → notification."""
    try:
        result = run_demo(
            source=source,
            namespaces=namespaces,
            vectors_per_namespace=vectors,
            dimension=dimension,
            rejected=rejected,
            emulator_time_scale=time_scale,
            timeout_s=timeout,
        )
    except KeyboardInterrupt:  # run_demo has stopped the local AWS and the emulator on its way out
        Console(stderr=True).print("[bold red]Demo interrupted.[/]")
        raise typer.Exit(130) from None
    raise typer.Exit(0 if result.ok else 1)
