"""The one error type business rules raise; REST turns it into JSON, the socket into an `error` frame."""


class ServiceError(Exception):
    """A refused request: `code` is machine-readable, `message` a sentence for a person."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class Conflict(ServiceError):
    status = 409


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str = "Not found.", code: str = "not_found") -> None:
        super().__init__(code, message)


class Forbidden(ServiceError):
    status = 403

    def __init__(self, message: str, code: str = "permission_denied") -> None:
        super().__init__(code, message)


def is_unavailable(exc: BaseException) -> bool:
    """A shared service (Redis, PostgreSQL or a pool in front of them) did not answer in time: the
    request may succeed if repeated in a moment. Socket actions answer `unavailable`, REST 503."""
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import RedisError

    return isinstance(exc, (RedisError, OperationalError, InterfaceError, TimeoutError, ConnectionError))
