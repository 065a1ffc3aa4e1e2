"""CDK entry point: ``cdk synth`` runs ``python -m infra.app`` (see cdk.json).

Synth is offline: no lookups, no Docker, no AWS credentials. A bad ``cdk.json`` context stops it with one
line per problem naming the key, and exit status 2.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from functions.errors import ConfigurationError
from infra.config import cdk_json_context, config_from_context
from infra.stacks.autoimport_stack import STACK_NAME, AutoImportStack


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None, read_cdk_json: bool = False
) -> tuple[App, AutoImportStack]:
    """The app and its stack, configured from context.

    ``read_cdk_json``: start from the repo's ``cdk.json`` context (what the CDK CLI passes) and apply ``context``
    on top — for tests and the offline runtime, which run the app without the CLI.
    Raises ``ConfigurationError`` when the context is invalid.
    """
    merged: dict[str, Any] = dict(cdk_json_context()) if read_cdk_json else {}
    merged.update(context or {})
    app = App(context=merged, outdir=outdir) if (merged or outdir) else App()
    config = config_from_context(app.node.try_get_context)
    stack = AutoImportStack(app, STACK_NAME, config=config)
    Tags.of(stack).add("project", "pinecone-autoimport")
    if config.nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def synthesize_template(context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template (dict) for ``cdk.json`` context plus ``context`` (no nag, no bundling)."""
    overrides = {"autoimport:nag": False, "autoimport:bundling": "none", **(context or {})}
    app, stack = build_app(overrides, outdir=tempfile.mkdtemp(prefix="autoimport-cdk-"), read_cdk_json=True)
    assembly = app.synth()
    template: dict[str, Any] = assembly.get_stack_artifact(stack.artifact_id).template
    return template


def main() -> int:
    try:
        app, _ = build_app()
    except ConfigurationError as exc:
        print(f"cdk synth stopped: {exc.message}", file=sys.stderr)
        print(
            "Fix the autoimport:* keys in cdk.json (or your -c overrides) and run it again.", file=sys.stderr
        )
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
