"""The lexrecon dashboard: ``create_app()`` builds the Dash app on a Flask server with login."""
from __future__ import annotations

import importlib
import os
import secrets
from pathlib import Path

import dash

from dashboards import auth, routes, shell

PAGE_MODULES = ("overview", "variance", "aging", "collections_worklist", "rejections", "leakage",
                "prebill_exceptions", "ledes_export", "evidence", "health")
ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(serving_db: str | os.PathLike | None = None,
               users_file: str | os.PathLike | None = None) -> dash.Dash:
    """The app. ``serving_db`` defaults to ``lexrecon.config.paths().serving_db`` (resolved on
    every request); ``users_file`` to ``$LEXRECON_USERS`` or ``dashboards/users.yml``."""
    users = auth.load_users(users_file)
    app = dash.Dash(
        __name__, use_pages=True, pages_folder="", assets_folder=str(ASSETS),
        serve_locally=True, suppress_callback_exceptions=True, title="lexrecon",
        update_title=None,
    )
    server = app.server
    server.config.update(
        SECRET_KEY=os.environ.get("LEXRECON_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True, LEXRECON_SERVING_DB=_serving_db_resolver(serving_db),
    )
    auth.protect(server, users)
    routes.register_routes(server, users)
    for name in PAGE_MODULES:
        importlib.import_module(f"dashboards.pages.{name}").register_callbacks(app)
    shell.register_callbacks(app)
    app.layout = shell.layout
    return app


def _serving_db_resolver(serving_db):
    if serving_db is not None:
        fixed = str(Path(serving_db).resolve())
        return lambda: fixed

    def from_config() -> str:
        from lexrecon.config import paths

        return str(paths().serving_db)

    return from_config
