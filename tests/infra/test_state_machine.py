"""The synthesized state machine, parsed from the template: loop bounds, retries, catches, notifications."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.errors import RETRYABLE_ERROR_NAMES
from infra import contract
from infra.constructs.workflow import definition_from_template, max_polls, render_definition
from tests.fixtures.infra import Synthesized

pytestmark = pytest.mark.xdist_group("infra")


@pytest.fixture(scope="module")
def asl(synthesized: Synthesized) -> dict[str, Any]:
    return definition_from_template(synthesized.template)


def successors(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]
    for catch in state.get("Catch", []):
        yield catch["Next"]


def is_terminal(state: dict[str, Any]) -> bool:
    return state["Type"] in ("Succeed", "Fail") or state.get("End") is True


def reachable(states: dict[str, Any], start: str, *, avoiding: str | None = None) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name == avoiding:
            continue
        seen.add(name)
        todo.extend(successors(states[name]))
    return seen


def test_starts_by_waiting_the_handles_next_wait(asl: dict[str, Any]) -> None:
    start = asl["States"][asl["StartAt"]]
    assert asl["StartAt"] == contract.STATE_WAIT
    assert start["Type"] == "Wait"
    assert start["SecondsPath"] == "$.next_wait_s"
    assert start["Next"] == contract.STATE_POLL


def test_poll_loop_goes_wait_poll_choice_and_is_bounded_by_attempts(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert states[contract.STATE_POLL]["Next"] == contract.STATE_CHOICE
    choice = states[contract.STATE_CHOICE]
    assert choice["Type"] == "Choice"
    by_target: dict[str, list[dict[str, Any]]] = {}
    for rule in choice["Choices"]:
        by_target.setdefault(rule["Next"], []).append(rule)
    # The only way back into the loop is action == "wait" ...
    assert by_target[contract.STATE_WAIT] == [
        {"Variable": "$.action", "StringEquals": "wait", "Next": "WaitBeforePoll"}
    ]
    # ... and a rule placed BEFORE it sends a "wait" past the attempt bound to CancelImport.
    bound_rules = [r for r in by_target[contract.STATE_CANCEL] if "And" in r]
    assert len(bound_rules) == 1
    conditions = bound_rules[0]["And"]
    assert {"Variable": "$.action", "StringEquals": "wait"} in conditions
    limits = [c["NumericGreaterThanEquals"] for c in conditions if "NumericGreaterThanEquals" in c]
    assert limits == [max_polls(deadline_s=86400, min_wait_s=30)]
    order = [r["Next"] for r in choice["Choices"]]
    assert order.index(contract.STATE_CANCEL) < order.index(contract.STATE_WAIT)
    # The only cycle in the graph is Wait -> Poll -> Choice -> Wait.
    on_cycles = {name for name in states if _cycles_through(states, name)}
    assert on_cycles == {contract.STATE_WAIT, contract.STATE_POLL, contract.STATE_CHOICE}


def _cycles_through(states: dict[str, Any], name: str) -> bool:
    return any(name in reachable(states, nxt) for nxt in successors(states[name]))


def test_every_task_retries_retryable_errors_with_full_jitter_and_catches_everything(
    asl: dict[str, Any],
) -> None:
    tasks = {n: s for n, s in asl["States"].items() if s["Type"] == "Task"}
    assert set(tasks) == {contract.STATE_POLL, contract.STATE_CANCEL, contract.STATE_FINALIZE}
    for name, task in tasks.items():
        retries = task["Retry"]
        assert len(retries) == 1, name
        retry = retries[0]
        assert set(retry["ErrorEquals"]) == {*RETRYABLE_ERROR_NAMES, *contract.LAMBDA_SERVICE_ERRORS}, name
        assert retry["JitterStrategy"] == "FULL"
        assert 1 <= retry["MaxAttempts"] <= 10
        assert retry["MaxDelaySeconds"] <= 300
        catches = task["Catch"]
        assert [c["ErrorEquals"] for c in catches] == [["States.ALL"]], name
        assert catches[0]["ResultPath"] == "$.pipeline_error"


def test_task_failures_are_recorded_then_notified_through_finalize(asl: dict[str, Any]) -> None:
    states = asl["States"]
    for name in (contract.STATE_POLL, contract.STATE_CANCEL):
        handler = states[states[name]["Catch"][0]["Next"]]
        assert handler["Type"] == "Pass"
        assert handler["ResultPath"] == "$.failed_state"
        assert handler["Result"] == name
        assert handler["Next"] == contract.STATE_FINALIZE
    finalize_catch = states[states[contract.STATE_FINALIZE]["Catch"][0]["Next"]]
    assert finalize_catch["Type"] == "Fail"


def test_every_path_to_an_end_passes_finalize(asl: dict[str, Any]) -> None:
    states = asl["States"]
    without_finalize = reachable(states, asl["StartAt"], avoiding=contract.STATE_FINALIZE)
    assert not [n for n in without_finalize if is_terminal(states[n])]
    assert any(is_terminal(states[n]) for n in reachable(states, asl["StartAt"]))
    # All states are reachable (no orphan left behind by a refactor).
    assert reachable(states, asl["StartAt"]) == set(states)


def test_deadline_cancels_before_finalizing_and_outcome_decides_success(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert states[contract.STATE_CANCEL]["Next"] == contract.STATE_FINALIZE
    assert states[contract.STATE_FINALIZE]["Next"] == contract.STATE_OUTCOME
    outcome = states[contract.STATE_OUTCOME]
    assert outcome["Choices"] == [
        {"Variable": "$.outcome", "StringEquals": "Completed", "Next": contract.STATE_SUCCEEDED}
    ]
    assert states[outcome["Default"]]["Type"] == "Fail"
    assert states[contract.STATE_SUCCEEDED]["Type"] == "Succeed"
    unknown = states[states[contract.STATE_CHOICE]["Default"]]
    assert unknown["Type"] == "Pass" and unknown["Next"] == contract.STATE_FINALIZE


def test_tasks_invoke_their_own_functions_directly(asl: dict[str, Any], synthesized: Synthesized) -> None:
    functions = synthesized.resources("AWS::Lambda::Function")
    handler_of = {lid: fn["Properties"]["Handler"] for lid, fn in functions.items()}
    expected = {
        contract.STATE_POLL: contract.HANDLERS["poll_import"],
        contract.STATE_CANCEL: contract.HANDLERS["cancel_import"],
        contract.STATE_FINALIZE: contract.HANDLERS["finalize"],
    }
    for state, handler in expected.items():
        # payload_response_only: the Resource is the function ARN, the output is the returned handle
        assert handler_of[asl["States"][state]["Resource"]] == handler


def test_state_machine_is_standard_logged_traced_and_timed_out(
    asl: dict[str, Any], synthesized: Synthesized
) -> None:
    _, machine = synthesized.only("AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props.get("StateMachineType", "STANDARD") == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    log_group_ref = props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    log_group = synthesized.template["Resources"][log_group_ref["Fn::GetAtt"][0]]
    assert "KmsKeyId" in log_group["Properties"]
    # The second bound: longest deadline (24 h in cdk.json) + the longest wait + margin.
    assert asl["TimeoutSeconds"] >= 86400 + 600
    assert asl["TimeoutSeconds"] <= 86400 + 600 + 2 * 3600


def test_render_definition_wires_given_arns_for_the_offline_runtime() -> None:
    arns = {
        name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}" for name in ("poll", "cancel", "fin")
    }
    asl = render_definition(
        poll_import_arn=arns["poll"], cancel_import_arn=arns["cancel"], finalize_arn=arns["fin"]
    )
    assert asl["States"][contract.STATE_POLL]["Resource"] == arns["poll"]
    assert asl["States"][contract.STATE_CANCEL]["Resource"] == arns["cancel"]
    assert asl["States"][contract.STATE_FINALIZE]["Resource"] == arns["fin"]
    assert asl["StartAt"] == contract.STATE_WAIT
