"""OAuth 2.0 token endpoint behaviour shared by the emulators.

Grants: ``client_credentials`` and ``refresh_token`` (RFC 6749 §4.4, §6), plus
``authorization_code`` with the one pre-authorised code the server hands out (so a client
written for Clio's authorization-code flow can be exercised without a browser). Client
credentials come as form fields ``client_id``/``client_secret`` or HTTP Basic auth.
Access tokens expire after ``Faults.token_ttl`` seconds or ``Faults.token_max_uses`` data
requests; refresh tokens do not expire and stay valid until revoked (as Clio Manage's), unless
``rotate_refresh_tokens`` is set, in which case each use returns a new one and revokes the old.
"""
from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs


@dataclass
class AccessToken:
    token: str
    expires_at: float
    uses: int = 0
    revoked: bool = False
    # rate-limit window per token
    window_start: float = 0.0
    window_count: int = 0


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class TokenStore:
    def __init__(self, client_id: str, client_secret: str, *, auth_code: str | None = None,
                 rotate_refresh_tokens: bool = False):
        self.client_id = client_id
        self.client_secret = client_secret
        self.auth_code = auth_code or "code-" + secrets.token_hex(8)
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.lock = threading.Lock()
        self.access: dict[str, AccessToken] = {}
        self.refresh: set[str] = set()
        self.issued = 0

    # -- token endpoint -------------------------------------------------------------------
    def grant(self, body: bytes, authorization: str | None, ttl: float) -> dict:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                              keep_blank_values=True).items()}
        cid, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                cid, secret = base64.b64decode(authorization[6:]).decode().split(":", 1)
            except ValueError:
                raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
        if cid != self.client_id or secret != self.client_secret:
            raise OAuthError(401, "invalid_client", "unknown client_id or wrong client_secret")
        grant_type = form.get("grant_type", "")
        with self.lock:
            if grant_type == "client_credentials":
                pass
            elif grant_type == "authorization_code":
                if form.get("code") != self.auth_code:
                    raise OAuthError(400, "invalid_grant", "authorization code is not valid")
            elif grant_type == "refresh_token":
                rt = form.get("refresh_token", "")
                if rt not in self.refresh:
                    raise OAuthError(400, "invalid_grant", "refresh token is not valid")
                if self.rotate_refresh_tokens:
                    self.refresh.discard(rt)
                else:
                    return self._issue(ttl, refresh_token=rt)
            else:
                raise OAuthError(400, "unsupported_grant_type",
                                 f"grant_type {grant_type!r} is not supported; use "
                                 "client_credentials, authorization_code or refresh_token")
            return self._issue(ttl)

    def _issue(self, ttl: float, refresh_token: str | None = None) -> dict:
        token = secrets.token_urlsafe(24)
        self.access[token] = AccessToken(token, time.monotonic() + ttl)
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(24)
            self.refresh.add(refresh_token)
        self.issued += 1
        return {"access_token": token, "token_type": "bearer", "expires_in": int(ttl),
                "refresh_token": refresh_token}

    # -- data requests --------------------------------------------------------------------
    def check(self, authorization: str | None, max_uses: int) -> AccessToken:
        """The token of a data request, counted as one use; OAuthError(401) if not valid."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise OAuthError(401, "invalid_request", "missing bearer token")
        token = authorization[7:].strip()
        with self.lock:
            at = self.access.get(token)
            if at is None or at.revoked:
                raise OAuthError(401, "invalid_token", "the access token is not valid")
            if time.monotonic() >= at.expires_at or (max_uses and at.uses >= max_uses):
                raise OAuthError(401, "invalid_token", "the access token has expired")
            at.uses += 1
            return at

    def rate_check(self, at: AccessToken, limit: int, window: float) -> tuple[int, int, int]:
        """(remaining, reset_seconds, retry_after or 0) for the token's fixed window."""
        import math
        with self.lock:
            now = time.monotonic()
            if now - at.window_start >= window:
                at.window_start, at.window_count = now, 0
            reset = max(0, math.ceil(at.window_start + window - now))
            if at.window_count >= limit:
                return 0, reset, max(1, reset)
            at.window_count += 1
            return limit - at.window_count, reset, 0

    def expire_all(self) -> int:
        with self.lock:
            n = 0
            for at in self.access.values():
                if not at.revoked:
                    at.revoked = True
                    n += 1
            return n
