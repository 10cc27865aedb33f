"""An HTTP client for vendor APIs: OAuth 2.0 tokens, retries with backoff, clear errors.

- Tokens: ``refresh_token`` grant when a refresh token is configured (Clio's authorization-code
  flow leaves one), else ``client_credentials``. A rotated refresh token is kept in memory.
- 401 on a data request: the token is refreshed once and the request repeated; a 401 right
  after a refresh raises :class:`SourceAuthError` saying which source and what to check (a
  token that expires again later, after working, is refreshed again).
- 429: waits for ``Retry-After`` (seconds or an HTTP date; exponential backoff when absent),
  5xx and connection errors: exponential backoff with jitter; both up to ``max_retries``.
- Secrets never appear in messages or logs: errors name the config keys, never their values.
"""
from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

try:  # orjson ships with dlt; several times faster than json (floats parse as float)
    import orjson

    _loads = orjson.loads
    _JSONError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover
    import json

    _loads = json.loads
    _JSONError = ValueError

log = logging.getLogger("lexrecon.ingest.http")

RETRY_STATUSES = {429, 500, 502, 503, 504}


class SourceError(RuntimeError):
    """A source failed; the message says which source, what happened and what to do."""

    def __init__(self, source: str, what: str, todo: str):
        super().__init__(f"{source}: {what}. {todo}")
        self.source, self.what, self.todo = source, what, todo


class SourceAuthError(SourceError):
    pass


@dataclass
class RetryPolicy:
    max_retries: int = 8
    max_connect_retries: int = 3   # a refused connection rarely heals within a run
    backoff_base: float = 0.25     # seconds, doubled per attempt
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # longest Retry-After we honour before giving up


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: an integer, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _api_message(resp: requests.Response) -> str:
    """The vendor's error text, short (never echoes the request, so no secrets)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        err = body.get("error") or body.get("errors") or body.get("message") or body
        if isinstance(err, list) and err:
            err = err[0]
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err.get("error_description")
                       or err.get("title") or err)[:200]
        desc = body.get("error_description")
        return f"{err}: {desc}"[:200] if desc else str(err)[:200]
    return str(body)[:200]


def _read_body(resp: requests.Response) -> None:
    """Read a streamed answer's body in one call (``requests`` would read it in 10 kB chunks
    and join them: a 10 MB page cost ~1,000 reads); the connection goes back to the pool for
    the next request (keep-alive). A connection that breaks or times out while the body is
    read is a connection error, retried as such."""
    import urllib3

    try:
        body = resp.raw.read(decode_content=True)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        resp.close()
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            raise requests.Timeout(str(exc)) from exc
        raise requests.ConnectionError(str(exc)) from exc
    resp._content = body
    resp._content_consumed = True


class ApiClient:
    """One authorised session against one vendor API."""

    def __init__(self, source: str, *, token_url: str, client_id: str, client_secret: str,
                 refresh_token: str | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 60.0, policy: RetryPolicy | None = None,
                 config_hint: str = "", sleep: Callable[[float], None] = time.sleep):
        self.source = source
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._access_token: str | None = None
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.config_hint = config_hint or f"sources.{source}.credentials"
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json",
                                     "User-Agent": "lexrecon-ingest/0.1"})
        if headers:
            self.session.headers.update(headers)
        if "//127.0.0.1" in token_url or "//localhost" in token_url:
            # a local server (the emulators): skip proxy/netrc lookups on every request
            self.session.trust_env = False
        self._sleep = sleep
        self.stats = {"requests": 0, "retries_429": 0, "retries_5xx": 0, "token_refreshes": 0}

    # -- tokens ------------------------------------------------------------------------
    def _token(self) -> str:
        if self._access_token is None:
            self._fetch_token()
        assert self._access_token is not None
        return self._access_token

    def _fetch_token(self) -> None:
        form = {"client_id": self._client_id, "client_secret": self._client_secret}
        if self._refresh_token:
            form.update(grant_type="refresh_token", refresh_token=self._refresh_token)
        else:
            form["grant_type"] = "client_credentials"
        resp = self._send("POST", self.token_url, data=form, auth=False)
        if resp.status_code != 200:
            raise SourceAuthError(
                self.source,
                f"the token endpoint {self.token_url} refused the credentials "
                f"(HTTP {resp.status_code}: {_api_message(resp)})",
                f"Check {self.config_hint}.client_id, client_secret and refresh_token "
                "(config or environment variables); the values are not shown here.")
        body = resp.json()
        token = body.get("access_token")
        if not token:
            raise SourceAuthError(self.source, "the token endpoint returned no access_token",
                                  f"Check {self.config_hint} and the token_url setting.")
        self._access_token = token
        if body.get("refresh_token"):
            self._refresh_token = body["refresh_token"]  # rotation: keep the newest
        self.stats["token_refreshes"] += 1

    # -- requests ----------------------------------------------------------------------
    def _send(self, method: str, url: str, *, auth: bool, **kw: Any) -> requests.Response:
        """One logical request with retries for 429 / 5xx / connection errors."""
        attempt = 0
        just_refreshed = False
        extra_headers = dict(kw.pop("headers", None) or {})
        while True:
            headers = dict(extra_headers)
            if auth:
                headers["Authorization"] = f"Bearer {self._token()}"
            try:
                self.stats["requests"] += 1
                resp = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                            stream=True, **kw)
                if resp.status_code == 200:
                    _read_body(resp)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= min(self.policy.max_retries, self.policy.max_connect_retries):
                    raise SourceError(
                        self.source, f"cannot reach {url.split('?')[0]} after {attempt + 1} "
                        f"attempts ({type(exc).__name__})",
                        "Check that the service is up and the base_url setting is right.",
                    ) from None
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if auth and resp.status_code == 401:
                # expired or revoked token: refresh once; a 401 right after a refresh is final
                if just_refreshed:
                    return resp
                resp.close()
                self._access_token = None
                self._fetch_token()
                just_refreshed = True
                continue
            just_refreshed = False
            if resp.status_code not in RETRY_STATUSES:
                return resp
            if attempt >= self.policy.max_retries:
                raise SourceError(
                    self.source,
                    f"{method} {url.split('?')[0]} still answers HTTP {resp.status_code} after "
                    f"{attempt + 1} attempts ({_api_message(resp)})",
                    "The service is overloaded or failing: run `lexrecon ingest` again later, "
                    "or raise sources.<name>.max_retries.")
            if resp.status_code == 429:
                self.stats["retries_429"] += 1
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is None:
                    wait = self._backoff(attempt)
                if wait > self.policy.max_retry_after:
                    raise SourceError(
                        self.source, f"rate limited with Retry-After {wait:.0f}s",
                        "Run `lexrecon ingest` again after the rate-limit window.")
            else:
                self.stats["retries_5xx"] += 1
                wait = self._backoff(attempt)
            log.info("%s: HTTP %s, retrying in %.2fs", self.source, resp.status_code, wait)
            resp.close()
            self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        base = min(self.policy.backoff_max, self.policy.backoff_base * (2 ** attempt))
        return base * (0.5 + random.random() / 2)

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """GET a data URL and return its JSON (a 401 is answered by one token refresh)."""
        return self.decode(url, self.get_bytes(url, params))

    def decode(self, url: str, body: bytes) -> Any:
        """The JSON of an answer from ``url`` (a clear error if it is not JSON)."""
        try:
            return _loads(body)
        except _JSONError:
            raise SourceError(self.source, f"GET {url.split('?')[0]} returned invalid JSON",
                              "Check that base_url points at the API, not a web page.") from None

    def get_bytes(self, url: str, params: dict[str, Any] | None = None) -> bytes:
        """GET a data URL and return its body as sent (for a JSON reader of one's choice)."""
        resp = self._send("GET", url, auth=True, params=params)
        if resp.status_code == 401:
            raise SourceAuthError(
                self.source,
                f"{url.split('?')[0]} answered 401 Unauthorized even with a fresh token "
                f"({_api_message(resp)})",
                f"Check {self.config_hint} (client_id, client_secret, refresh_token) and "
                "that base_url is the right regional host.")
        if resp.status_code != 200:
            raise SourceError(
                self.source,
                f"GET {url.split('?')[0]} answered HTTP {resp.status_code}: {_api_message(resp)}",
                "This is not a temporary error: check the base_url and the resource settings.")
        return resp.content

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:  # never show secrets
        return f"ApiClient(source={self.source!r}, token_url={self.token_url!r})"
