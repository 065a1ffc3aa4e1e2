"""One exception hierarchy for the whole project.

Every error says whether it is worth retrying. Step Functions matches these by *class name*
(``Retry.ErrorEquals`` / ``Catch.ErrorEquals``), so the names are part of the workflow contract:
rename one and the state machine must change with it (see ``RETRYABLE_ERROR_NAMES``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AutoImportError(Exception):
    """Base of every error this project raises on purpose."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description, suitable for a notification (never a traceback)."""
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.hint:
            out["hint"] = self.hint
        return out


class RetryableError(AutoImportError):
    """A transient failure: throttling, 5xx, timeouts, connection resets. Safe to try again later."""

    retryable = True


class TerminalError(AutoImportError):
    """A failure that will not go away by retrying: bad input, bad credentials, unknown ids."""


# --- Pinecone -------------------------------------------------------------------------------------


class PineconeError(AutoImportError):
    """Marker mixin-free base for errors that came from Pinecone's API (see subclasses)."""

    status_code: int | None = None


class PineconeUnauthorized(TerminalError, PineconeError):
    """401/403: the API key is wrong, revoked or lacks permission."""


class PineconeNotFound(TerminalError, PineconeError):
    """404: the import id (or index) does not exist."""


class PineconeInvalidRequest(TerminalError, PineconeError):
    """400/409/412/422 and other 4xx: the request itself is wrong; retrying will not help."""


class PineconeRateLimited(RetryableError, PineconeError):
    """429: slow down. ``retry_after`` (seconds) comes from the Retry-After header when present."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PineconeUnavailable(RetryableError, PineconeError):
    """5xx, timeouts and connection errors: Pinecone could not answer right now."""


# --- Storage (S3 / local files) --------------------------------------------------------------------


class StorageError(AutoImportError):
    """Base for storage failures."""


class StorageUnavailable(RetryableError, StorageError):
    """The object store could not be reached or answered 5xx/throttling."""


class StorageAccessDenied(TerminalError, StorageError):
    """Credentials are missing or do not allow reading the drop."""


class StorageNotFound(TerminalError, StorageError):
    """The bucket or prefix does not exist."""


# --- AWS services (DynamoDB, SNS, EventBridge, Step Functions, Secrets Manager) ---------------------


class AwsError(AutoImportError):
    """Base for failures of the AWS services the pipeline calls (other than S3 reads: see Storage*)."""


class AwsUnavailable(RetryableError, AwsError):
    """Throttling, 5xx, timeouts or connection errors from an AWS service."""


class AwsRequestFailed(TerminalError, AwsError):
    """An AWS call was refused (access denied, missing resource, invalid parameter): retrying will not help."""


# --- Pipeline --------------------------------------------------------------------------------------


class ConfigurationError(TerminalError):
    """Settings or routes are invalid."""


class InvalidEvent(TerminalError):
    """An incoming event could not be parsed."""


class DropInProgress(RetryableError):
    """Another delivery of the same drop holds the start lease right now; try again when it has finished."""


class DropRejected(TerminalError):
    """Validation found errors in a drop; the report says which."""


RETRYABLE_ERROR_NAMES: tuple[str, ...] = (
    "RetryableError",
    "PineconeRateLimited",
    "PineconeUnavailable",
    "StorageUnavailable",
    "AwsUnavailable",
)
"""Class names Step Functions retries (each is raised by name from Lambda; subclasses are listed explicitly
because Step Functions matches the exact ``errorType``)."""
