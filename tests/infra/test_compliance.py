"""Compliance of the synthesized stacks: cdk-nag AwsSolutions and cfn-lint."""

from __future__ import annotations

from typing import Any

import pytest
from cfnlint.api import lint_file

from tests.fixtures.infra import Synthesized

pytestmark = pytest.mark.xdist_group("infra")

# One worker synthesizes both apps once (each synth is seconds of CPU; a second worker would repeat them).
VARIANTS = ["synthesized", "synthesized_variant"]


def _acknowledgements(s: Synthesized) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path, entries in s.metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.setdefault(path, {}).update(entry["data"])
    return found


@pytest.mark.parametrize("which", VARIANTS)
def test_cdk_nag_reports_no_unacknowledged_finding(which: str, request: pytest.FixtureRequest) -> None:
    # Given the app synthesized with the AwsSolutions plugin (synth raises on any unacknowledged finding)
    s: Synthesized = request.getfixturevalue(which)
    # Then the validation report lists no plugin failure
    assert s.validation_report is not None
    failures = [p for p in s.validation_report["pluginReports"] if p.get("conclusion") != "success"]
    assert failures == []


@pytest.mark.parametrize("which", VARIANTS)
def test_every_acknowledgement_names_an_awssolutions_rule_and_gives_a_reason(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    acknowledgements = _acknowledgements(s)
    assert acknowledgements, "expected the known, justified acknowledgements (L1, IAM5 X-Ray, ...)"
    for path, rules in acknowledgements.items():
        for rule_id, reason in rules.items():
            assert rule_id.startswith("AwsSolutions::AwsSolutions-"), (path, rule_id)
            assert isinstance(reason, str) and len(reason.split()) >= 5, (path, rule_id, reason)
    # Never a blanket acknowledgement of the wildcard rule: each IAM5 one names the resource it accepts.
    assert not [r for rules in acknowledgements.values() for r in rules if r.endswith("AwsSolutions-IAM5")]


@pytest.mark.parametrize("which", VARIANTS)
def test_cfn_lint_reports_nothing_beyond_redundant_depends_on(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    matches = lint_file(s.template_path)
    assert [(m.rule.id, m.message) for m in matches if m.rule.id != "W3005"] == []
