"""Domain errors: what went wrong, in words a client can act on.

The domain raises these; the HTTP layer turns each into ``{"error": {"code", "message"}}`` with
the status its kind implies, and the sockets into an ``error`` frame.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a request can cause; ``code`` is stable snake_case."""

    status = 400
    code = "bad_request"
    #: Seconds after which the request may succeed; the answer's ``Retry-After`` when set.
    retry_after_s: int | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    status = 422
    code = "validation_error"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    """Something that existed and no longer serves (a used or expired one-time link)."""

    status = 410
    code = "gone"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"


class UpstreamError(DomainError):
    """A provider the hub relies on (the Telegram Bot API) failed or could not be reached."""

    status = 502
    code = "upstream_error"


class DatabaseUnavailable(DomainError):
    """The database did not answer within its bound, or refused the connection: nothing is
    wrong with the request, and it may succeed if sent again after ``retry_after_s``."""

    status = 503
    code = "database_unavailable"

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
