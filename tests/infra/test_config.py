"""cdk.json context: defaults, command-line strings, and clear failures for bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.errors import ConfigurationError
from functions.models.imports import ErrorMode
from infra.config import CONTEXT_PREFIX, InfraConfig, cdk_json_context, config_from_context
from infra.constructs.functions import LocalPythonBundling, asset_fingerprint, lambda_requirements
from infra.constructs.triggers import marker_key_patterns
from infra.constructs.workflow import max_polls, state_machine_timeout_s

pytestmark = pytest.mark.xdist_group("infra")

REPO = Path(__file__).resolve().parents[2]
ROUTE = {"name": "a", "prefix": "imports/", "index_host": "idx-1.svc.pinecone.io"}


def config(**context: Any) -> InfraConfig:
    merged = {**cdk_json_context(), **{CONTEXT_PREFIX + k: v for k, v in context.items()}}
    return config_from_context(merged.get)


def test_repo_cdk_json_is_a_valid_configuration() -> None:
    cfg = config()
    assert [r.prefix for r in cfg.routes] == ["imports/"]
    assert cfg.marker_name == "_SUCCESS"
    assert cfg.reconciler_rate_minutes == 15
    assert cfg.bundling == "pip"
    assert cfg.nag is True


def test_command_line_strings_are_parsed() -> None:
    cfg = config(reconciler_rate_minutes="0", layers="false", routes=json.dumps([ROUTE]), bundling="none")
    assert cfg.reconciler_rate_minutes == 0
    assert cfg.layers is False
    assert cfg.bundling == "none"
    assert cfg.routes[0].index_host == "https://idx-1.svc.pinecone.io"


def test_top_level_poll_and_error_mode_are_defaults_for_routes() -> None:
    own_poll = {**ROUTE, "name": "b", "prefix": "other/", "poll": {"deadline_s": 600}, "error_mode": "abort"}
    cfg = config(routes=[ROUTE, own_poll], poll={"deadline_s": 7200, "min_wait_s": 60}, error_mode="continue")
    first, second = cfg.routes
    assert (first.poll.deadline_s, first.poll.min_wait_s, first.error_mode) == (7200, 60, ErrorMode.CONTINUE)
    assert (second.poll.deadline_s, second.error_mode) == (600, ErrorMode.ABORT)
    assert cfg.max_deadline_s == 7200


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"routes": [ROUTE, {**ROUTE, "name": "b", "prefix": "imports/daily/"}]},
            "autoimport:routes: route prefixes overlap",
        ),
        ({"routes": [{**ROUTE, "prefix": "/abs/"}]}, "autoimport:routes[0].prefix"),
        ({"routes": []}, "autoimport:routes"),
        ({"marker_name": "a/b"}, "autoimport:marker_name"),
        ({"notification_emails": ["not-an-email"]}, "not an email address: not-an-email"),
        ({"existing_bucket_name": "s3://x"}, "not a valid S3 bucket name"),
        ({"existing_secret_arn": "my-secret"}, "not a Secrets Manager secret ARN"),
        ({"pinecone_role": {"enabled": True}}, "trusted_principal_arn"),
        ({"reconciler_rate_minutes": "-1"}, "autoimport:reconciler_rate_minutes"),
        ({"error_mode": "ignore"}, "autoimport:error_mode"),
        ({"poll": {"min_wait_s": 900, "max_wait_s": 60}}, "min_wait_s (900) must not exceed max_wait_s (60)"),
        ({"api_version": "1999-01"}, "autoimport:api_version: '1999-01' has no bulk import"),
        ({"routes": [ROUTE, {**ROUTE, "prefix": "other/"}]}, "autoimport:routes: route names must be unique"),
        ({"bogus": 1}, None),  # unknown keys under the prefix are not read (CDK context is shared)
    ],
)
def test_bad_context_fails_with_a_message_naming_the_key(
    context: dict[str, Any], message: str | None
) -> None:
    if message is None:
        assert config(**context).routes
        return
    with pytest.raises(ConfigurationError) as excinfo:
        config(**context)
    assert message in str(excinfo.value)


def test_missing_routes_say_what_to_add() -> None:
    with pytest.raises(ConfigurationError, match="autoimport:routes is missing"):
        config_from_context(lambda _key: None)


def test_cdk_app_exits_2_with_a_one_line_reason_and_no_traceback(tmp_path: Path) -> None:
    # Given overlapping route prefixes passed the way the CDK CLI passes context (CDK_CONTEXT_JSON)
    context = {
        **cdk_json_context(),
        "autoimport:routes": [ROUTE, {**ROUTE, "name": "b", "prefix": "imports/daily/"}],
    }
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    # When the app runs as `cdk synth` runs it
    proc = subprocess.run(
        [sys.executable, "-m", "infra.app"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    # Then it stops before synthesizing, says which key is wrong and why, and shows no traceback
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "autoimport:routes: route prefixes overlap: 'imports/' contains 'imports/daily/'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_marker_patterns_escape_wildcard_characters() -> None:
    assert marker_key_patterns(["imports/", "a*b/"], "_SUCCESS") == [
        {"wildcard": "imports/*/_SUCCESS"},
        {"wildcard": "a\\*b/*/_SUCCESS"},
    ]


def test_loop_bound_and_timeout_grow_with_the_deadline() -> None:
    assert max_polls(deadline_s=3600, min_wait_s=30) == 130
    assert max_polls(deadline_s=7200, min_wait_s=30) > max_polls(deadline_s=3600, min_wait_s=30)
    assert state_machine_timeout_s(deadline_s=3600, max_wait_s=600) > 3600 + 600


def test_plain_bundling_copies_the_functions_package_without_caches(tmp_path: Path) -> None:
    assert LocalPythonBundling([]).try_bundle(str(tmp_path)) is True
    assert (tmp_path / "functions" / "settings.py").is_file()
    assert (tmp_path / "functions" / "errors.py").read_bytes() == (
        REPO / "functions" / "errors.py"
    ).read_bytes()
    assert not list(tmp_path.rglob("__pycache__"))
    assert not list(tmp_path.rglob("*.pyc"))


def test_asset_fingerprint_changes_with_requirements() -> None:
    with_layers = lambda_requirements(layers=True)
    without_layers = lambda_requirements(layers=False)
    assert [r.split("==")[0] for r in with_layers] == ["httpx", "pydantic"]
    assert {r.split("==")[0] for r in without_layers} == {
        "httpx",
        "aws-lambda-powertools[tracer]",
        "pydantic",
    }
    assert all("==" in r for r in without_layers)  # pinned to what the tests run
    assert asset_fingerprint(with_layers) != asset_fingerprint(without_layers)
    assert asset_fingerprint(with_layers) == asset_fingerprint(list(with_layers))


def test_pip_bundling_failure_says_what_to_do(tmp_path: Path) -> None:
    # Given a requirement pip rejects before touching the network
    bundler = LocalPythonBundling(["not a valid requirement!!"])
    # When the asset is bundled, Then the error names the packages, the platform and both ways out
    with pytest.raises(RuntimeError) as excinfo:
        bundler.try_bundle(str(tmp_path))
    message = str(excinfo.value)
    assert "not a valid requirement!!" in message
    assert "manylinux2014_x86_64/py3.12" in message
    assert "-c autoimport:bundling=none" in message
