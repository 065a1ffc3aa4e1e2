"""Small corrections to moto 5.2.5 where it differs from AWS in ways the pipeline notices.

- ``StartExecution`` without a ``name``: AWS generates a unique name; moto's executing backend uses
  ``None``, so a second unnamed execution of a state machine fails with ExecutionAlreadyExists.
"""

from __future__ import annotations

import uuid
from typing import Any


def install() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution
    original = getattr(original, "__local_aws_original__", original)

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    start_execution.__local_aws_original__ = original  # type: ignore[attr-defined]
    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
