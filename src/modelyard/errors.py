"""One small, transport-neutral error hierarchy.

Every error a user can cause derives from :class:`YardError`; HTTP status codes and
CLI exit codes are mapped from :attr:`YardError.code` in exactly one place each.
"""

from __future__ import annotations


class YardError(Exception):
    """Base of every error modelyard raises on purpose."""

    code = "error"
    served_by: str | None = None  # the model version a request failed on, when one did


class InvalidInput(YardError):
    """The caller passed something malformed (a bad name, a bad value, a bad file)."""

    code = "invalid"


class NotFound(YardError):
    """A named thing (model, version, alias, run, dataset, blob) does not exist."""

    code = "not_found"


class AlreadyExists(YardError):
    code = "already_exists"


class Conflict(YardError):
    """The stored state is not what the caller expected (``--expect``, aliased deletion)."""

    code = "conflict"


class AliasMoved(Conflict):
    """An alias move refused by its compare-and-set: the alias does not point where the
    caller said (``expected`` 0: unset; ``actual`` None: it is not set)."""

    def __init__(self, name: str, alias: str, expected: int, actual: int | None) -> None:
        where = f"points at version {actual}" if actual is not None else "is not set"
        wanted = "unset" if expected == 0 else str(expected)
        super().__init__(f"{name}@{alias} {where}, not {wanted} as expected; nothing changed")
        self.target = f"{name}@{alias}"
        self.expected = expected
        self.actual = actual


class UnsupportedModel(InvalidInput):
    """No flavor knows how to save or load the object or file."""

    code = "unsupported"


class UntrustedContent(YardError):
    """Loading would execute code the user has not trusted explicitly (pickle, foreign types)."""

    code = "untrusted"


class SchemaMismatch(InvalidInput):
    """Data does not fit the model's signature; ``problems`` lists ``{row, feature, rule}``."""

    code = "schema"

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class IntegrityError(YardError):
    """Stored bytes do not hash to what the registry recorded; they are never loaded."""

    code = "integrity"


class StoreUnavailable(YardError):
    """The database or artifact store cannot be reached or opened."""

    code = "unavailable"


class Overloaded(YardError):
    """No room to answer in time; the caller should retry after ``retry_after`` seconds
    (HTTP 503). ``limit`` names what refused it, for the refusal counter."""

    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int = 1, limit: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class TimedOut(YardError):
    """The prediction did not finish within the endpoint's timeout (HTTP 504)."""

    code = "timeout"


class ModelFailed(YardError):
    """The model itself raised or produced unusable output; not the caller's fault (HTTP 500)."""

    code = "model_error"


class NotReady(YardError):
    """The endpoint exists but no version of it is loaded yet (HTTP 503)."""

    code = "not_ready"


class NoReferenceWarning(UserWarning):
    """A version was registered without a sample: it has no reference profile, so its drift
    and the promotion gate's data checks are off until ``Yard.set_profile`` gives it one."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libraries often write paragraphs)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
