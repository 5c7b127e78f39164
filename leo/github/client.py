"""Talking to GitHub: one PyGithub client with LEO's auth, timeouts and bounded retries.

Every call has a timeout; idempotent requests (GET, PUT, PATCH, DELETE) are retried by urllib3 on
5xx and rate limits with backoff, honouring ``Retry-After`` and ``x-ratelimit-reset`` up to a cap
(a longer wait fails at once rather than stalling the run). POST is never retried blindly: a
retried comment would be a duplicate, so writes go through ``retry_write`` with a check of
whether the first attempt landed. A GitHub failure after the retries is a ``GitHubError``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from leo.errors import ExitCode, LeoError

if TYPE_CHECKING:
    from github import Github

T = TypeVar("T")
DEFAULT_API_URL = "https://api.github.com"
_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_REMOTE = re.compile(
    r"(?:^git@[^:]+:|^(?:https?|ssh)://(?:[^@/]+@)?[^/]+/)([^/]+/[^/]+?)(?:\.git)?/?$"
)


class GitHubError(LeoError):
    """GitHub could not be read or written after bounded retries: LEO cannot decide (ESCALATE)."""

    exit_code = ExitCode.ESCALATE


@dataclass(frozen=True)
class ClientOptions:
    """Timeouts and retry bounds; the environment may tune them (docs/github.md)."""

    timeout_s: int = 30
    retries: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 120.0
    throttle: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClientOptions:
        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                msg = f"{name}={raw!r} is not a number; unset it or give seconds/counts"
                raise LeoError(msg) from None
            if value < 0:
                msg = f"{name}={raw!r} is negative; give a number >= 0"
                raise LeoError(msg)
            return value

        return cls(
            timeout_s=max(1, int(number("LEO_GITHUB_TIMEOUT", cls.timeout_s))),
            retries=int(number("LEO_GITHUB_RETRIES", cls.retries)),
            backoff_s=number("LEO_GITHUB_BACKOFF", cls.backoff_s),
            max_wait_s=number("LEO_GITHUB_MAX_WAIT", cls.max_wait_s),
            throttle=env.get("LEO_GITHUB_THROTTLE", "1") not in ("0", "false", "no"),
        )


def retry_policy(options: ClientOptions) -> Any:
    """A ``GithubRetry`` that caps every wait at ``options.max_wait_s`` and never retries POST."""
    from github.GithubException import RateLimitExceededExceedsMaxWait
    from github.GithubRetry import GithubRetry

    class LeoRetry(GithubRetry):
        """GithubRetry sleeps any ``Retry-After`` urllib3 sees, however long; LEO caps it."""

        def increment(
            self,
            method: str | None = None,
            url: str | None = None,
            response: Any = None,
            error: Exception | None = None,
            _pool: Any = None,
            _stacktrace: Any = None,
        ) -> Any:
            from leo.metrics import observe_github_retry

            if response is not None:
                observe_github_retry(
                    "rate_limit" if response.status in (403, 429) else f"http_{response.status}"
                )
            elif error is not None:
                observe_github_retry("connection")
            if response is not None and response.status in (403, 429):
                wait = rate_limit_wait(response.headers, time.time())
                cap = self.max_rate_limit_wait
                if wait is not None and cap is not None and wait > cap:
                    raise RateLimitExceededExceedsMaxWait(
                        response.status,
                        {"message": "rate limited"},
                        dict(response.headers),
                        wait=wait,
                    )
            return super().increment(method, url, response, error, _pool, _stacktrace)

        def get_retry_after(self, response: Any) -> float | None:
            if response.headers.get("Retry-After") is not None:
                return super().get_retry_after(response)
            # A 429 without Retry-After but with an exhausted quota waits for the reset.
            return rate_limit_wait(response.headers, time.time())

    return LeoRetry(
        total=options.retries,
        backoff_factor=options.backoff_s,
        backoff_max=options.max_wait_s,
        secondary_rate_wait=min(60.0, options.max_wait_s),
        max_rate_limit_wait=options.max_wait_s,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds GitHub asks us to wait (``Retry-After``, else the reset of an exhausted quota)."""
    lower = {k.lower(): v for k, v in headers.items()}
    after = lower.get("retry-after", "").strip()
    if after.isdigit():
        return float(after)
    if lower.get("x-ratelimit-remaining", "").strip() == "0":
        reset = lower.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            return max(0.0, int(reset) - now) + 1.0
    return None


def api_url(env: Mapping[str, str]) -> str:
    """``GITHUB_API_URL`` (GitHub Enterprise, tests) or api.github.com."""
    url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
        msg = f"GITHUB_API_URL={url!r} must be an https:// URL (plain http only on loopback)"
        raise LeoError(msg)
    return url


def _auth(env: Mapping[str, str]) -> Any:
    from github import Auth

    app_id = env.get("LEO_GITHUB_APP_ID", "").strip()
    if app_id:
        key = env.get("LEO_GITHUB_APP_PRIVATE_KEY", "")
        key_file = env.get("LEO_GITHUB_APP_PRIVATE_KEY_FILE", "")
        if not key and key_file:
            try:
                with open(key_file, encoding="utf-8") as fh:
                    key = fh.read()
            except OSError as exc:
                msg = f"cannot read LEO_GITHUB_APP_PRIVATE_KEY_FILE {key_file}: {exc.strerror}"
                raise LeoError(msg) from None
        installation = env.get("LEO_GITHUB_APP_INSTALLATION_ID", "").strip()
        if not key or not installation.isdigit():
            msg = (
                "LEO_GITHUB_APP_ID is set but LEO_GITHUB_APP_PRIVATE_KEY(_FILE) or a numeric "
                "LEO_GITHUB_APP_INSTALLATION_ID is missing; set all three (docs/github.md)"
            )
            raise LeoError(msg)
        return Auth.AppAuth(app_id, key).get_installation_auth(int(installation))
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    if not token:
        msg = "no GitHub credentials: set GITHUB_TOKEN, or LEO_GITHUB_APP_ID with its key and installation"
        raise LeoError(msg)
    return Auth.Token(token)


def token_for_git(env: Mapping[str, str]) -> str | None:
    """The token git may use to fetch the PR (a plain token only; Apps fetch anonymously)."""
    return env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or None


def connect(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> Github:
    """A PyGithub client for ``GITHUB_API_URL`` with LEO's auth, timeouts and retries."""
    from github import Github

    env = os.environ if env is None else env
    opts = options or ClientOptions.from_env(env)
    return Github(
        auth=_auth(env),
        base_url=api_url(env),
        timeout=opts.timeout_s,
        retry=retry_policy(opts),
        per_page=100,
        # Objects are fetched when read, not when named: fewer requests, none for a bare SHA.
        lazy=True,
        # PyGithub paces requests as GitHub recommends; tests turn it off.
        seconds_between_requests=0.25 if opts.throttle else None,
        seconds_between_writes=1.0 if opts.throttle else None,
    )


def check_repo_name(name: str, source: str) -> str:
    if not _REPO_NAME.match(name) or ".." in name:
        msg = f"{source} {name!r} is not a GitHub repository name; give OWNER/NAME"
        raise LeoError(msg)
    return name


def repo_from_remote(url: str) -> str | None:
    """``owner/name`` from a GitHub remote URL (https or ssh), or None."""
    m = _REMOTE.search(url.strip())
    return m.group(1) if m else None


def describe(exc: BaseException) -> str:
    """One sentence about a failed GitHub call (never the token, never a traceback)."""
    from github.GithubException import GithubException, RateLimitExceededExceedsMaxWait

    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        return f"rate limited for {exc.wait or 0:.0f}s, longer than the cap (LEO_GITHUB_MAX_WAIT)"
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"HTTP {exc.status}: {str(message or exc.data)[:300]}"
    text = str(exc).split("\n")[0][:300]
    return f"{type(exc).__name__}: {text}"


def _transient(exc: BaseException) -> bool:
    from github.GithubException import GithubException, RateLimitExceededExceedsMaxWait

    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        return False
    if isinstance(exc, GithubException):
        return exc.status >= 500 or exc.status == 429
    import requests

    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout)


def _api_errors() -> tuple[type[BaseException], ...]:
    import requests
    from github.GithubException import GithubException

    return (GithubException, requests.exceptions.RequestException)


@contextlib.contextmanager
def api(action: str) -> Iterator[None]:
    """Turn a failed GitHub call into a ``GitHubError`` naming ``action``."""
    try:
        yield
    except _api_errors() as exc:
        msg = f"GitHub API failed while {action} after bounded retries: {describe(exc)}"
        raise GitHubError(msg) from exc


def retry_write(
    action: str,
    write: Callable[[], T],
    *,
    landed: Callable[[], T | None] | None = None,
    attempts: int = 3,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a non-idempotent write at most ``attempts`` times; before each retry ask ``landed``
    whether the failed attempt was applied anyway (its response lost) and return that instead."""
    last: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
            if landed is not None:
                with api(f"checking whether {action} landed"):
                    found = landed()
                if found is not None:
                    return found
        try:
            return write()
        except _api_errors() as exc:
            last = exc
            if not _transient(exc):
                break
    assert last is not None
    msg = f"GitHub API failed while {action} after {attempts} attempts: {describe(last)}"
    raise GitHubError(msg) from last
