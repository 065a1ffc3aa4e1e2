"""The local AWS server process: moto + our Lambda runtime + EventBridge target delivery.

Started by :class:`local.aws.runtime.LocalAws` as ``python -m local.aws.server --port 0``. It binds
the port, sets ``MOTO_PORT`` to it (moto's Step Functions interpreter calls back to
``http://localhost:$MOTO_PORT``), switches on Step Functions execution and Docker-free Lambda,
installs the two seams and prints one line ``LOCAL_AWS_READY <port>`` on stdout when it serves.
Handlers run inside this process, so the test process's ``os.environ`` is never touched.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

READY_LINE = "LOCAL_AWS_READY"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    region: str = "us-east-1",
    retry_delay_s: float = 0.5,
    timeout_scale: float = 2.0,
    code_paths: list[Path] | None = None,
) -> None:
    for path in reversed(code_paths or []):
        sys.path.insert(0, str(path))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
    os.environ.pop("AWS_PROFILE", None)

    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from local.aws import event_targets, lambda_runtime, moto_fixes

    for section, values in MOTO_CONFIG.items():
        default_user_config[section] = dict(values)  # type: ignore[literal-required]

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_port = server.get_host_and_port()[1]
    endpoint = f"http://{host}:{bound_port}"
    os.environ["MOTO_PORT"] = str(bound_port)
    os.environ["AWS_ENDPOINT_URL"] = endpoint

    runtime = lambda_runtime.LambdaRuntime(base_environment=dict(os.environ), timeout_scale=timeout_scale)
    lambda_runtime.install(runtime)
    dispatcher = event_targets.EventTargetDispatcher(
        endpoint_url=endpoint,
        region=region,
        policy=event_targets.DeliveryPolicy(
            lambda_retry_delay_s=retry_delay_s, delivery_retry_delay_s=retry_delay_s
        ),
    )
    event_targets.install(dispatcher)
    moto_fixes.install()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=_stop_when_orphaned, args=(stop,), name="parent-watch", daemon=True).start()
    print(f"{READY_LINE} {bound_port}", flush=True)
    stop.wait()
    dispatcher.shutdown()
    runtime.shutdown()
    server.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    # Background deliveries may be mid-retry; nothing they hold must survive the server: exit now
    # instead of joining their threads.
    os._exit(0)


def _stop_when_orphaned(stop: threading.Event, interval_s: float = 1.0) -> None:
    """Stop if the process that started us is gone (a killed test run must not leave a server behind)."""
    parent = os.getppid()
    while not stop.wait(interval_s):
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.aws.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--retry-delay", type=float, default=0.5, help="seconds between delivery retries")
    parser.add_argument(
        "--timeout-scale", type=float, default=2.0, help="functions time out after Timeout x this"
    )
    parser.add_argument("--code-path", action="append", type=Path, default=[], help="prepend to sys.path")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOCAL_AWS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    serve(
        host=args.host,
        port=args.port,
        region=args.region,
        retry_delay_s=args.retry_delay,
        timeout_scale=args.timeout_scale,
        code_paths=args.code_path,
    )


if __name__ == "__main__":
    main()
