"""Who may use the dashboard, and what each role may see.

Users come from a YAML file (``dashboards/users.yml`` by default, or the file named by the
``LEXRECON_USERS`` environment variable, or ``create_app(users_file=...)``) with bcrypt password
hashes. Every request, callback and download is checked on the server:

- ``protect(server)`` refuses anonymous requests to everything except the login page and the
  static CSS/fonts under ``/assets/``;
- ``page_scope(page)`` is called at the top of every layout and callback: it raises ``Forbidden``
  (HTTP 403) if the user's role may not open that page, and returns the ``Scope`` that the query
  layer applies to every SQL statement. A partner's scope carries their billing-partner
  timekeeper id from the users file, never anything the browser sent.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import bcrypt
import yaml
from flask import Flask, jsonify, redirect, request
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from dashboards.queries import Scope

DEFAULT_USERS_FILE = Path(__file__).resolve().parent / "users.yml"

ROLES = ("finance", "partner", "analyst", "auditor", "admin")

# Which pages each role may open (page keys are the modules in dashboards/pages/).
PAGE_ACCESS: dict[str, frozenset[str]] = {
    "overview": frozenset(ROLES),
    "variance": frozenset({"finance", "partner", "analyst", "auditor", "admin"}),
    "aging": frozenset({"finance", "partner", "analyst", "admin"}),
    "rejections": frozenset({"finance", "partner", "analyst", "admin"}),
    "leakage": frozenset({"finance", "partner", "analyst", "admin"}),
    "collections_worklist": frozenset({"finance", "partner", "analyst", "admin"}),
    "prebill_exceptions": frozenset({"finance", "partner", "analyst", "admin"}),
    "ledes_export": frozenset({"finance", "partner", "analyst", "admin"}),
    "evidence": frozenset({"finance", "auditor", "admin"}),
    "health": frozenset({"finance", "analyst", "auditor", "admin"}),
}
# Exporting the auditor's evidence pack.
EVIDENCE_EXPORT_ROLES = frozenset({"auditor", "admin"})

PUBLIC_PATHS = ("/login",)
PUBLIC_PREFIXES = ("/assets/",)
# Anonymous requests here get 401 (not a redirect to the login page): callbacks and downloads.
API_PREFIXES = ("/_dash-", "/export/", "/evidence-pack")


class UsersFileError(ValueError):
    """The users file is missing or malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class User(UserMixin):
    username: str
    name: str
    role: str
    password_hash: bytes
    timekeeper_id: str | None = None  # partners only: their billing-partner timekeeper id

    def get_id(self) -> str:
        return self.username

    def check_password(self, password: str) -> bool:
        try:
            return bcrypt.checkpw(password.encode("utf-8"), self.password_hash)
        except ValueError:
            return False

    @property
    def scope(self) -> Scope:
        if self.role == "partner":
            return Scope(role="partner", partner_id=self.timekeeper_id)
        return Scope(role=self.role, partner_id=None)

    def may_open(self, page: str) -> bool:
        return self.role in PAGE_ACCESS.get(page, frozenset())


def users_file_path(users_file: str | os.PathLike | None = None) -> Path:
    if users_file:
        return Path(users_file)
    return Path(os.environ.get("LEXRECON_USERS", DEFAULT_USERS_FILE))


def load_users(users_file: str | os.PathLike | None = None) -> dict[str, User]:
    """Read and validate the users file; errors name the file, the entry and the field."""
    path = users_file_path(users_file)
    if not path.is_file():
        raise UsersFileError(
            f"{path}: users file not found; set LEXRECON_USERS to a YAML file with a 'users:' list"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("users")
    if not isinstance(entries, list) or not entries:
        raise UsersFileError(f"{path}: expected a non-empty 'users:' list")
    users: dict[str, User] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: users[{i}]"
        if not isinstance(entry, dict):
            raise UsersFileError(f"{where}: expected a mapping with username, role, password_hash")
        for field in ("username", "role", "password_hash"):
            if not entry.get(field):
                raise UsersFileError(f"{where}: missing field '{field}'")
        role = str(entry["role"])
        if role not in ROLES:
            raise UsersFileError(f"{where}: role '{role}' is not one of {', '.join(ROLES)}")
        pw_hash = str(entry["password_hash"])
        if not pw_hash.startswith("$2"):
            raise UsersFileError(f"{where}: password_hash must be a bcrypt hash ($2b$...)")
        tk = entry.get("timekeeper_id")
        if role == "partner" and not tk:
            raise UsersFileError(
                f"{where}: a partner needs 'timekeeper_id' (their billing-partner timekeeper id)"
            )
        username = str(entry["username"])
        if username in users:
            raise UsersFileError(f"{where}: duplicate username '{username}'")
        users[username] = User(
            username=username,
            name=str(entry.get("name") or username),
            role=role,
            password_hash=pw_hash.encode("ascii"),
            timekeeper_id=str(tk) if tk else None,
        )
    return users


def hash_password(password: str, rounds: int = 12) -> str:
    """A bcrypt hash for the users file (``python -m dashboards.auth PASSWORD``)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def authenticate(users: dict[str, User], username: str, password: str) -> User | None:
    user = users.get(username or "")
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        bcrypt.checkpw(b"x", _DUMMY_HASH)
        return None
    return user if user.check_password(password or "") else None


_DUMMY_HASH = bcrypt.hashpw(b"dummy", bcrypt.gensalt(4))


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are allowed as a post-login redirect."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def protect(server: Flask, users: dict[str, User]) -> LoginManager:
    """Install flask-login and refuse every anonymous request that is not the login page."""
    manager = LoginManager()
    manager.init_app(server)

    @manager.user_loader
    def _load(username: str) -> User | None:
        return users.get(username)

    @server.before_request
    def _require_login():
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        if current_user.is_authenticated:
            return None
        if path.startswith(API_PREFIXES) or request.method != "GET":
            return jsonify(error="login required"), 401
        return redirect("/login?next=" + _quote(path))

    return manager


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def signed_in_user() -> User:
    if not current_user.is_authenticated:
        raise Unauthorized("login required")
    return current_user._get_current_object()  # type: ignore[attr-defined]


def page_scope(page: str) -> Scope:
    """The caller's query scope for ``page``; 401 when anonymous, 403 when the role may not."""
    user = signed_in_user()
    if not user.may_open(page):
        raise Forbidden(f"role '{user.role}' may not open the {page} page")
    return user.scope


def allowed_pages(user: User | None = None) -> list[str]:
    user = user or signed_in_user()
    return [page for page in PAGE_ACCESS if user.may_open(page)]


if __name__ == "__main__":  # pragma: no cover - helper for writing users files
    import sys

    for pw in sys.argv[1:]:
        print(hash_password(pw))
