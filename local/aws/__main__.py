"""``python -m local.aws``: run the local AWS in the foreground, optionally with the stack deployed.

    python -m local.aws                       # synthesize infra/ (bundling none) and deploy it
    python -m local.aws --no-deploy           # only the server
    python -m local.aws --template t.json --env AUTOIMPORT_POLL_WAIT_SCALE=0.01 --secret PineconeApiKey=pcsk_...

Prints the endpoint, the variables to export and the deployment's physical ids, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from local.aws.deploy import Deployment
from local.aws.runtime import LocalAws


def summary(aws: LocalAws, deployment: Deployment | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "endpoint_url": aws.endpoint_url,
        "environment": aws.environment(),
        "log": str(aws.log_path),
    }
    if deployment is not None:
        out["deployment"] = {
            "stack_name": deployment.stack_name,
            "functions": deployment.functions,
            "state_machines": deployment.state_machines,
            "eventbridge_buckets": deployment.eventbridge_buckets,
            "outputs": deployment.outputs,
            "not_deployed": deployment.skipped,
            "resources": [asdict(r) for r in deployment.resources],
        }
    return out


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--{what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.aws", description=__doc__.split("\n")[0])
    parser.add_argument("--no-deploy", action="store_true", help="start the server only")
    parser.add_argument(
        "--template", type=Path, help="a synthesized template (JSON); default: synthesize infra/"
    )
    parser.add_argument(
        "--assets", type=Path, help="the cloud assembly directory holding the template's assets"
    )
    parser.add_argument("--stack-name", default="PineconeAutoImportLocal")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE added to every function")
    parser.add_argument("--secret", action="append", default=[], help="SECRET_LOGICAL_ID_PREFIX=VALUE")
    args = parser.parse_args(argv)

    with LocalAws() as aws:
        deployment = None
        if not args.no_deploy:
            if args.template:
                template = json.loads(args.template.read_text())
            else:
                from infra.app import synthesize_template

                template = synthesize_template()
            deployment = aws.deploy_template(
                template,
                assets_dir=args.assets,
                stack_name=args.stack_name,
                environment=_pairs(args.env, "env"),
                secrets=_pairs(args.secret, "secret"),
            )
        print(json.dumps(summary(aws, deployment), indent=2), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print("local AWS is running; Ctrl-C stops it", file=sys.stderr, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
