"""The exception family of the videos app.

Callers catch :class:`SoraVideosError` for anything this app raises; the subclasses say
whose fault it is: the site's configuration, the user's input, the job's state, or the
provider.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured


class SoraVideosError(Exception):
    """Base class of every error raised by the videos app."""


class ConfigurationError(SoraVideosError, ImproperlyConfigured):
    """The site is misconfigured; ``setting`` names exactly what to set."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(f"{message} (setting: {setting})" if setting else message)


class InvalidRequest(SoraVideosError, ValueError):
    """Input refused before any remote call; ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


class BudgetExceeded(InvalidRequest):
    """A submission would exceed a monthly budget."""

    def __init__(self, message: str, *, budget: str, remaining: Any) -> None:
        self.budget = budget
        self.remaining = remaining
        super().__init__(message, field="budget")


class NotPermitted(SoraVideosError):
    """The person may not do this (a missing role, or someone else's video)."""


class JobStateError(SoraVideosError):
    """An action does not apply to a job in its current state."""


class ProviderError(SoraVideosError):
    """The provider answered with an error, or could not be reached.

    ``status_code`` is None when no HTTP response arrived (``ambiguous`` then says the
    request may have taken effect at the provider).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        response: Any = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.response = response
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        #: The server's own words, and whether it said it has no such endpoint (404/405 of its router).
        self.reason = ""
        self.endpoint_missing = False
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        """429, 408/409 and 5xx are worth trying again later; other 4xx are final."""
        if self.status_code is None:
            return True
        return self.status_code in (408, 409, 429) or self.status_code >= 500
