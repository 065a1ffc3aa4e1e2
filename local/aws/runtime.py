"""``LocalAws``: the offline AWS side of the pipeline, in one child process.

The child (``python -m local.aws.server``) is a moto server with Step Functions execution on,
Docker-free Lambda whose invocations run the real handler code, and EventBridge delivery to Lambda
and Step Functions targets. Running it in its own process keeps handlers' environment swaps away
from the caller's ``os.environ`` and keeps moto's process-global state away from any other moto
the caller runs.

    with LocalAws() as aws:
        deployment = aws.deploy_template(template, environment={"AUTOIMPORT_POLL_WAIT_SCALE": "0.01"})
        aws.client("s3").put_object(Bucket=deployment.bucket, Key="imports/d1/_SUCCESS", Body=b"")
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from botocore.config import Config

from local.aws.server import READY_LINE

if TYPE_CHECKING:
    from local.aws.deploy import Deployment

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class LocalAwsError(RuntimeError):
    """The local AWS server could not start or answer."""


class LocalAws:
    """A moto server (child process) that runs our handlers and delivers EventBridge targets."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        log_path: Path | None = None,
        retry_delay_s: float = 0.5,
        timeout_scale: float = 2.0,
        code_paths: list[Path] | None = None,
        startup_timeout_s: float = 60.0,
        python: str | None = None,
    ) -> None:
        self.region = region
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="local-aws-")) / "server.log"
        self.retry_delay_s = retry_delay_s
        self.timeout_scale = timeout_scale
        self.code_paths = [PROJECT_ROOT, *(code_paths or [])]
        self.startup_timeout_s = startup_timeout_s
        self.python = python or sys.executable
        self._process: subprocess.Popen[bytes] | None = None
        self.deploy_lock = threading.Lock()
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> LocalAws:
        if self._process is not None:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            self.python,
            "-m",
            "local.aws.server",
            "--port",
            "0",
            "--region",
            self.region,
            "--retry-delay",
            str(self.retry_delay_s),
            "--timeout-scale",
            str(self.timeout_scale),
        ]
        for path in self.code_paths:
            command += ["--code-path", str(path)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env.update(DUMMY_CREDENTIALS)
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._port = self._wait_ready()
        except BaseException:  # Ctrl-C or a failed start must not leave the child behind
            self.stop()
            raise
        return self

    def _wait_ready(self) -> int:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LocalAwsError(
                    f"local AWS server exited with {self._process.returncode} while starting; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            for line in self.log_path.read_text(errors="replace").splitlines():
                if line.startswith(READY_LINE):
                    return int(line.split()[1])
            time.sleep(0.05)
        self.stop()
        raise LocalAwsError(
            f"local AWS server did not start within {self.startup_timeout_s:.0f} s; see {self.log_path}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- talking to it --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise LocalAwsError("local AWS is not started: call start() or use it as a context manager")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (and Powertools) in another process at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
        }

    def client(self, service: str, **config: Any) -> Any:
        session: Any = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            region_name=self.region,
        )
        return session.client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(
                **{"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 2}, **config}
            ),
        )

    def reset(self) -> None:
        """Wipe every resource (the configuration and the installed seams stay)."""
        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    def set_moto_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.endpoint_url}/moto-api/config", json=dict(config), timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def fire_scheduled_rule(self, rule_name: str, *, event_bus: str = "default") -> list[dict[str, Any]]:
        """Run a schedule-only rule's targets once now (moto never fires schedules).

        Lambda targets are invoked synchronously with a "Scheduled Event"; Step Functions targets get an
        execution. Returns one ``{"target": arn, "error": ..., "payload": ...}`` per target.
        """
        events = self.client("events")
        rule = events.describe_rule(Name=rule_name, EventBusName=event_bus)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": self.region,
            "resources": [rule["Arn"]],
            "detail": {},
        }
        results: list[dict[str, Any]] = []
        targets = events.list_targets_by_rule(Rule=rule_name, EventBusName=event_bus)["Targets"]
        for target in targets:
            payload = json.loads(target["Input"]) if target.get("Input") else event
            arn = target["Arn"]
            if ":lambda:" in arn:
                response = self.client("lambda", read_timeout=900).invoke(
                    FunctionName=arn, Payload=json.dumps(payload).encode()
                )
                body = response["Payload"].read()
                results.append(
                    {
                        "target": arn,
                        "error": response.get("FunctionError"),
                        "payload": json.loads(body) if body else None,
                    }
                )
            elif ":states:" in arn:
                started = self.client("stepfunctions").start_execution(
                    stateMachineArn=arn, input=json.dumps(payload)
                )
                results.append({"target": arn, "error": None, "payload": started["executionArn"]})
        return results

    # -- deploying ------------------------------------------------------------------------------------
    def deploy_template(
        self,
        template: Mapping[str, Any],
        *,
        assets_dir: Path | None = None,
        stack_name: str = "PineconeAutoImportLocal",
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Deployment:
        from local.aws.deploy import deploy_template

        return deploy_template(
            self,
            template,
            assets_dir=assets_dir,
            stack_name=stack_name,
            environment=environment,
            secrets=secrets,
        )
