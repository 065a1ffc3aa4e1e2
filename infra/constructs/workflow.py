"""The import tracker: a Standard Step Functions state machine (JSONPath, CDK chain API).

::

    WaitBeforePoll (SecondsPath $.next_wait_s) → PollImport → NextStep
        action == "cancel"                      → CancelImport → Finalize
        action == "wait" and attempt >= bound   → CancelImport → Finalize      (second loop bound)
        action == "wait"                        → WaitBeforePoll
        action == "finalize"                    → Finalize
        anything else                           → UnknownAction → Finalize
    Finalize → Outcome: outcome == "Completed" → ImportSucceeded (Succeed), else ImportNotCompleted (Fail)

Every Task retries the retryable error names (``functions.errors.RETRYABLE_ERROR_NAMES``) and Lambda's service
errors with full-jitter backoff, then catches ``States.ALL`` into a Pass that records the failed state and goes
to Finalize, so every import ends with exactly one notification. Finalize's own Catch goes to FinalizeFailed
(Fail); the failed-executions alarm reports that case. Executions that end in Fail are those whose import did
not complete: the Step Functions console and the failed-executions alarm show them without reading messages.
The state machine timeout (longest route deadline + margin) bounds the whole run a second time.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from functions.errors import RETRYABLE_ERROR_NAMES
from infra import contract

RETRY_ERRORS: tuple[str, ...] = (*RETRYABLE_ERROR_NAMES, *contract.LAMBDA_SERVICE_ERRORS)
RETRY_INTERVAL = Duration.seconds(2)
RETRY_MAX_ATTEMPTS = 6
RETRY_BACKOFF_RATE = 2.0
RETRY_MAX_DELAY = Duration.seconds(60)
TIMEOUT_MARGIN_S = 3600
"""Added to the longest route deadline: time for the last poll, CancelImport, Finalize and their retries."""


def max_polls(*, deadline_s: int, min_wait_s: int) -> int:
    """How many polls the loop allows at most: the deadline at the shortest wait, plus slack."""
    return math.ceil(deadline_s / min_wait_s) + 10


def state_machine_timeout_s(*, deadline_s: int, max_wait_s: int) -> int:
    return deadline_s + max_wait_s + TIMEOUT_MARGIN_S


def _invoke(scope: Construct, name: str, fn: lambda_.IFunction, comment: str) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(
        scope,
        name,
        lambda_function=fn,
        comment=comment,
        payload_response_only=True,  # the function's return value is the state output (the updated handle)
        retry_on_service_exceptions=False,  # replaced by the jittered retry below
    )
    task.add_retry(
        errors=list(RETRY_ERRORS),
        interval=RETRY_INTERVAL,
        max_attempts=RETRY_MAX_ATTEMPTS,
        backoff_rate=RETRY_BACKOFF_RATE,
        max_delay=RETRY_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


def build_definition(
    scope: Construct,
    *,
    poll_import: lambda_.IFunction,
    cancel_import: lambda_.IFunction,
    finalize: lambda_.IFunction,
    poll_bound: int,
) -> sfn.IChainable:
    """The state graph (see the module docstring); ``scope`` receives the state constructs."""
    pipeline_error = f"$.{contract.PIPELINE_ERROR}"
    failed_state = f"$.{contract.FAILED_STATE}"

    finalize_task = _invoke(
        scope, contract.STATE_FINALIZE, finalize, "Check counts, notify, close the ledger"
    )
    finalize_task.add_catch(
        sfn.Fail(
            scope,
            contract.STATE_FINALIZE_FAILED,
            error="FinalizeFailed",
            cause="Finalize failed after its retries: the outcome may not have been notified",
        ),
        errors=["States.ALL"],
        result_path=pipeline_error,
    )
    finalize_task.next(
        sfn.Choice(scope, contract.STATE_OUTCOME)
        .when(
            sfn.Condition.string_equals(f"$.{contract.OUTCOME}", contract.OUTCOME_COMPLETED),
            sfn.Succeed(scope, contract.STATE_SUCCEEDED),
        )
        .otherwise(
            sfn.Fail(
                scope,
                contract.STATE_NOT_COMPLETED,
                error="ImportNotCompleted",
                cause="The import did not complete; the notification says why",
            )
        )
    )

    def record_failure(task_name: str) -> sfn.Chain:
        return sfn.Pass(
            scope,
            f"{task_name}Failed",
            comment=f"{task_name} failed after its retries: record where, then notify through Finalize",
            result=sfn.Result.from_string(task_name),
            result_path=failed_state,
        ).next(finalize_task)

    cancel_task = _invoke(scope, contract.STATE_CANCEL, cancel_import, "Cancel the import (deadline passed)")
    cancel_task.add_catch(
        record_failure(contract.STATE_CANCEL), errors=["States.ALL"], result_path=pipeline_error
    )
    cancel_task.next(finalize_task)

    poll_task = _invoke(
        scope, contract.STATE_POLL, poll_import, "describe_import and decide: wait, finalize, cancel"
    )
    poll_task.add_catch(
        record_failure(contract.STATE_POLL), errors=["States.ALL"], result_path=pipeline_error
    )

    wait = sfn.Wait(
        scope,
        contract.STATE_WAIT,
        comment="Sleep the handle's next_wait_s (backoff with jitter, decided by PollImport / start_import)",
        time=sfn.WaitTime.seconds_path(f"$.{contract.NEXT_WAIT_S}"),
    )
    unknown_action = sfn.Pass(
        scope,
        contract.STATE_UNKNOWN_ACTION,
        comment="PollImport returned an action this state machine does not know",
        result=sfn.Result.from_object(
            {
                "Error": "UnknownAction",
                "Cause": "PollImport returned an action other than wait, finalize, cancel",
            }
        ),
        result_path=pipeline_error,
    ).next(finalize_task)

    action = f"$.{contract.ACTION}"
    choice = (
        sfn.Choice(scope, contract.STATE_CHOICE)
        .when(sfn.Condition.string_equals(action, contract.ACTION_CANCEL), cancel_task)
        .when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(action, contract.ACTION_WAIT),
                sfn.Condition.is_present(f"$.{contract.ATTEMPT}"),
                sfn.Condition.number_greater_than_equals(f"$.{contract.ATTEMPT}", poll_bound),
            ),
            cancel_task,
        )
        .when(sfn.Condition.string_equals(action, contract.ACTION_WAIT), wait)
        .when(sfn.Condition.string_equals(action, contract.ACTION_FINALIZE), finalize_task)
        .otherwise(unknown_action)
    )
    return wait.next(poll_task).next(choice)


class Workflow(Construct):
    """The state machine, its encrypted log group (level ALL) and X-Ray tracing."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        poll_import: lambda_.IFunction,
        cancel_import: lambda_.IFunction,
        finalize: lambda_.IFunction,
        deadline_s: int,
        min_wait_s: int,
        max_wait_s: int,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        self.poll_bound = max_polls(deadline_s=deadline_s, min_wait_s=min_wait_s)
        self.timeout_s = state_machine_timeout_s(deadline_s=deadline_s, max_wait_s=max_wait_s)
        definition = build_definition(
            self,
            poll_import=poll_import,
            cancel_import=cancel_import,
            finalize=finalize,
            poll_bound=self.poll_bound,
        )
        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="pinecone-autoimport: track one Pinecone bulk import to its end and notify",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.seconds(self.timeout_s),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )


# --- the definition outside CloudFormation (offline runtime, tests) --------------------------------------


def resolve_intrinsics(value: Any, resolve: Callable[[Mapping[str, Any]], str]) -> Any:
    """Evaluate ``Fn::Join`` (recursively) and hand every other intrinsic (``Ref``, ``Fn::GetAtt``) to ``resolve``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [resolve_intrinsics(v, resolve) for v in value]
    if isinstance(value, Mapping):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(resolve_intrinsics(p, resolve)) for p in parts)
        return resolve(value)
    return value


def definition_from_template(
    template: Mapping[str, Any], resolve: Callable[[Mapping[str, Any]], str] | None = None
) -> dict[str, Any]:
    """The ASL of the (single) state machine in a synthesized template, as a dict.

    ``resolve`` turns ``{"Fn::GetAtt": [logical_id, "Arn"]}`` / ``{"Ref": ...}`` into strings (e.g. the ARNs of
    functions deployed into moto); by default each becomes ``"<logical_id>"`` (enough to inspect the graph).
    """
    machines = [
        r
        for r in template.get("Resources", {}).values()
        if r.get("Type") == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise ValueError(f"expected exactly one state machine in the template, found {len(machines)}")
    body = machines[0]["Properties"]["DefinitionString"]
    text = resolve_intrinsics(body, resolve or _placeholder)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _placeholder(intrinsic: Mapping[str, Any]) -> str:
    if "Fn::GetAtt" in intrinsic:
        return str(intrinsic["Fn::GetAtt"][0])
    if "Ref" in intrinsic:
        return str(intrinsic["Ref"]).replace("AWS::", "")
    raise ValueError(f"cannot resolve {json.dumps(intrinsic)} in the state machine definition")


def render_definition(
    *,
    poll_import_arn: str,
    cancel_import_arn: str,
    finalize_arn: str,
    deadline_s: int = 24 * 3600,
    min_wait_s: int = 30,
) -> dict[str, Any]:
    """The state machine definition (ASL dict) wired to the given Lambda ARNs, without deploying anything.

    For the offline runtime: create the state machine in moto with ``json.dumps(render_definition(...))``.
    Synthesizes a throw-away stack in memory (~1-2 s); the graph is the same code the deployed stack uses.
    """
    app = App(outdir=tempfile.mkdtemp(prefix="autoimport-asl-"))
    stack = Stack(app, "Definition")
    definition = build_definition(
        stack,
        poll_import=lambda_.Function.from_function_arn(stack, "ImportedPollImport", poll_import_arn),
        cancel_import=lambda_.Function.from_function_arn(stack, "ImportedCancelImport", cancel_import_arn),
        finalize=lambda_.Function.from_function_arn(stack, "ImportedFinalize", finalize_arn),
        poll_bound=max_polls(deadline_s=deadline_s, min_wait_s=min_wait_s),
    )
    sfn.StateMachine(stack, "StateMachine", definition_body=sfn.DefinitionBody.from_chainable(definition))
    assembly = app.synth()
    template = assembly.get_stack_artifact(stack.artifact_id).template
    return definition_from_template(template)
