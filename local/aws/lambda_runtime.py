"""Run the real handler code when moto invokes a Lambda function.

moto's Docker-free Lambda backend (``{"lambda": {"use_docker": false}}``) does not run code: its
``LambdaSimpleBackend.invoke`` echoes the payload. We replace that one method (the *seam*) with a
small runtime that imports the module named by the function's ``Handler``
(``functions.handlers.poll_import.handler``), calls it with the function's environment variables
and a fake Lambda context, and turns an exception into a Lambda function error
(``X-Amz-Function-Error: Unhandled``, payload ``{"errorType": <class name>, "errorMessage": ...}``),
which is what Step Functions' Retry/Catch match on.

Handlers run in this process and share ``os.environ``: invocations are serialised by one lock and
the environment is swapped for each call. This module runs inside the moto server process
(``local.aws.server``); it depends on moto internals, so moto is pinned and
``tests/integration/test_local_aws_seam.py`` fails loudly if the seam moves.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("local.aws.lambda")

PINNED_MOTO_VERSION = "5.2.5"
SEAM = "moto.awslambda_simple.models.LambdaSimpleBackend.invoke"
"""The attribute we replace. If a moto upgrade renames it, :func:`install` raises."""

LOCK_TIMEOUT_S = 900.0
"""Longest wait for another invocation to finish (a Lambda runs at most 15 minutes)."""


class SeamMovedError(RuntimeError):
    """moto's Docker-free Lambda backend no longer looks like the one this runtime patches."""


@dataclass
class FakeLambdaContext:
    """Enough of the Lambda context object for Powertools and our handlers."""

    function_name: str
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 128
    timeout_s: int = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """What the runtime needs to know about one function to run it."""

    function_name: str
    function_arn: str
    handler: str
    environment: Mapping[str, str]
    timeout_s: int = 3
    memory_mb: int = 128
    code_zip: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    payload: bytes
    function_error: str | None = None

    @property
    def failed(self) -> bool:
        return self.function_error is not None


class LambdaRuntime:
    """Runs handlers one at a time with each function's own environment."""

    def __init__(
        self,
        *,
        base_environment: Mapping[str, str],
        code_root: Path | None = None,
        timeout_scale: float = 2.0,
    ) -> None:
        self._base = dict(base_environment)
        self.timeout_scale = timeout_scale
        """A function times out after ``Timeout * timeout_scale`` (slack for loaded test machines)."""
        self._lock = threading.Lock()
        self._code_root = code_root or Path(tempfile.mkdtemp(prefix="local-aws-code-"))
        self._extracted: dict[str, Path] = {}
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-async")
        self.invocations = 0

    # -- the environment ---------------------------------------------------------------------------
    def environment_for(self, fn: Invocation) -> dict[str, str]:
        region = self._base.get("AWS_REGION") or self._base.get("AWS_DEFAULT_REGION") or "us-east-1"
        runtime_vars = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "_HANDLER": fn.handler,
        }
        return {**self._base, **runtime_vars, **{k: str(v) for k, v in fn.environment.items()}}

    @contextmanager
    def _environment(self, env: Mapping[str, str]) -> Iterator[None]:
        before = dict(os.environ)
        _apply_environment(env)
        try:
            yield
        finally:
            _apply_environment(before)

    # -- resolving the handler -----------------------------------------------------------------------
    def resolve(self, fn: Invocation) -> Callable[[Any, Any], Any]:
        module_name, _, attr = fn.handler.rpartition(".")
        if not module_name or not attr:
            raise ImportError(f"Handler {fn.handler!r} of {fn.function_name} is not 'module.function'")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if fn.code_zip is None or (exc.name and not module_name.startswith(exc.name)):
                raise
            module = self._module_from_code(fn, module_name)
        handler = getattr(module, attr, None)
        if not callable(handler):
            raise AttributeError(f"{fn.function_name}: module {module_name!r} has no function {attr!r}")
        return handler

    def _module_from_code(self, fn: Invocation, module_name: str) -> Any:
        """A handler that is not importable from the project: load it from the function's own zip."""
        import importlib.util

        target = self._extracted.get(fn.function_arn)
        if target is None:
            target = self._code_root / uuid.uuid4().hex
            with zipfile.ZipFile(io.BytesIO(fn.code_zip or b"")) as archive:
                archive.extractall(target)
            self._extracted[fn.function_arn] = target
        path = target.joinpath(*module_name.split(".")).with_suffix(".py")
        if not path.is_file():
            raise ModuleNotFoundError(
                f"Handler module {module_name!r} of {fn.function_name} is neither importable from the "
                f"project nor present in the function's code"
            )
        unique = f"_local_aws_code_{target.name}_{module_name.replace('.', '_')}"
        if unique in sys.modules:
            return sys.modules[unique]
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        return module

    # -- running -------------------------------------------------------------------------------------
    def run(self, fn: Invocation, payload: bytes | str | None) -> Outcome:
        """Run one invocation synchronously (RequestResponse).

        The handler runs in its own thread so the function's timeout can be enforced: past
        ``timeout_s * timeout_scale`` the caller gets Lambda's ``Sandbox.Timedout`` error. Python cannot
        stop the thread, so it keeps the lock until it returns (later invocations wait for it).
        """
        event = _decode_event(payload)
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            return _error_outcome(
                "Sandbox.Timedout", f"{fn.function_name}: another invocation never finished"
            )
        self.invocations += 1
        context = FakeLambdaContext(
            function_name=fn.function_name,
            invoked_function_arn=fn.function_arn,
            memory_limit_in_mb=fn.memory_mb,
            timeout_s=fn.timeout_s,
        )
        box: list[Outcome] = []
        worker = threading.Thread(
            target=self._execute,
            args=(fn, event, context, box),
            name=f"lambda-{fn.function_name}",
            daemon=True,
        )
        try:
            worker.start()
        except BaseException:
            self._lock.release()
            raise
        worker.join(timeout=fn.timeout_s * self.timeout_scale)
        if worker.is_alive():
            log.warning("%s timed out after %d s", fn.function_name, fn.timeout_s)
            return _error_outcome(
                "Sandbox.Timedout",
                f"RequestId: {context.aws_request_id} Error: Task timed out after {fn.timeout_s:.2f} seconds",
            )
        return box[0]

    def _execute(self, fn: Invocation, event: Any, context: FakeLambdaContext, box: list[Outcome]) -> None:
        """Run the handler (in its own thread); always releases the invocation lock."""
        try:
            with self._environment(self.environment_for(fn)):
                _clear_settings_cache()
                try:
                    handler = self.resolve(fn)
                except AttributeError as exc:
                    box.append(
                        _error_outcome("Runtime.HandlerNotFound", f"Handler {fn.handler!r} missing: {exc}")
                    )
                    return
                except Exception as exc:  # as Lambda reports a module that does not import
                    module = fn.handler.rpartition(".")[0]
                    log.warning("%s: cannot import %s: %s", fn.function_name, module, exc)
                    box.append(
                        _error_outcome(
                            "Runtime.ImportModuleError",
                            f"Unable to import module '{module}': {type(exc).__name__}: {exc}",
                            traceback.format_exception(exc)[-20:],
                        )
                    )
                    return
                try:
                    result = handler(event, context)
                except Exception as exc:  # a function error, reported like Lambda does
                    log.info("%s raised %s: %s", fn.function_name, type(exc).__name__, exc)
                    box.append(
                        _error_outcome(type(exc).__name__, str(exc), traceback.format_exception(exc)[-20:])
                    )
                    return
                finally:
                    _clear_settings_cache()
            try:
                box.append(Outcome(payload=json.dumps(result, default=str).encode()))
            except (TypeError, ValueError) as exc:
                box.append(_error_outcome("Runtime.MarshalError", f"Unable to marshal response: {exc}"))
        except BaseException as exc:  # SystemExit and the like: still a function error, never a hang
            box.append(_error_outcome(type(exc).__name__, str(exc) or type(exc).__name__))
        finally:
            self._lock.release()

    def run_async(self, fn: Invocation, payload: bytes | str | None) -> None:
        """``InvocationType=Event``: accept now, run in the background."""
        self._async.submit(self._run_logged, fn, payload)

    def _run_logged(self, fn: Invocation, payload: bytes | str | None) -> None:
        outcome = self.run(fn, payload)
        if outcome.failed:
            log.warning("async invocation of %s failed: %s", fn.function_name, outcome.payload[:500])

    def shutdown(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)


def _apply_environment(target: Mapping[str, str]) -> None:
    """Make ``os.environ`` equal ``target`` with the fewest changes (no window where all is gone)."""
    for key in [k for k in os.environ if k not in target]:
        os.environ.pop(key, None)
    for key, value in target.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _clear_settings_cache() -> None:
    module = sys.modules.get("functions.settings")
    get_settings = getattr(module, "get_settings", None)
    cache_clear = getattr(get_settings, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()


def _decode_event(payload: bytes | str | None) -> Any:
    if payload is None or payload in (b"", ""):
        return {}
    text = payload.decode() if isinstance(payload, bytes) else payload
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _error_outcome(error_type: str, message: str, stack: list[str] | None = None) -> Outcome:
    body = {"errorType": error_type, "errorMessage": message}
    if stack:
        body["stackTrace"] = [line.rstrip("\n") for line in stack]  # type: ignore[assignment]
    return Outcome(payload=json.dumps(body).encode(), function_error="Unhandled")


# -- the seam ---------------------------------------------------------------------------------------

_installed: LambdaRuntime | None = None


def check_seam() -> Any:
    """The class we patch; raises :class:`SeamMovedError` if moto changed under us."""
    import moto

    if moto.__version__ != PINNED_MOTO_VERSION:
        raise SeamMovedError(
            f"local AWS was written against moto {PINNED_MOTO_VERSION}, found {moto.__version__}: "
            f"re-check {SEAM} and the events target dispatch, then update PINNED_MOTO_VERSION"
        )
    try:
        from moto.awslambda_simple.models import LambdaSimpleBackend
    except ImportError as exc:  # pragma: no cover - only on a moto upgrade
        raise SeamMovedError(f"{SEAM} is gone: {exc}") from exc
    invoke = getattr(LambdaSimpleBackend, "invoke", None)
    if invoke is None or "response_headers" not in invoke.__code__.co_varnames:
        raise SeamMovedError(f"{SEAM} changed its signature; the local Lambda runtime needs updating")
    return LambdaSimpleBackend


def invocation_of(backend: Any, function_name: str, qualifier: str | None) -> Invocation:
    """Read what the runtime needs from moto's function model."""
    fn = backend.get_function(function_name, qualifier)
    code_zip = getattr(fn, "code_bytes", None)
    return Invocation(
        function_name=fn.function_name,
        function_arn=fn.function_arn,
        handler=fn.handler or "",
        environment=dict(fn.environment_vars or {}),
        timeout_s=int(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        code_zip=code_zip if isinstance(code_zip, bytes) and code_zip[:2] == b"PK" else None,
    )


def install(runtime: LambdaRuntime) -> LambdaRuntime:
    """Patch moto's Docker-free Lambda backend so invoking a function runs its handler."""
    global _installed
    backend_class = check_seam()

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        fn = invocation_of(self, function_name, qualifier)
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            runtime.run_async(fn, body)
            return b""
        outcome = runtime.run(fn, body)
        if outcome.function_error:
            response_headers["x-amz-function-error"] = outcome.function_error
        response_headers["x-amz-executed-version"] = "$LATEST"
        return outcome.payload

    invoke.__wrapped_by_local_aws__ = True  # type: ignore[attr-defined]
    backend_class.invoke = invoke
    _installed = runtime
    return runtime


def installed() -> LambdaRuntime | None:
    return _installed
