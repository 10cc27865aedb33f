"""`lexrecon serve`: the dashboard on the published warehouse (read-only).

Listens on 127.0.0.1:8050 by default. Users come from ``--users`` / ``LEXRECON_USERS`` /
``dashboards/users.yml``; the warehouse from ``--serving-db`` / ``LEXRECON_SERVING_DB``.
"""
from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve the dashboard (login required)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (8050)")
    p.add_argument("--serving-db", default=None,
                   help="published warehouse file (default: lexrecon.config paths().serving_db)")
    p.add_argument("--users", default=None, help="users YAML file (default: $LEXRECON_USERS or "
                                                 "dashboards/users.yml)")
    p.add_argument("--debug", action="store_true", help="Dash debug mode (development only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dashboards.app import create_app
    from dashboards.auth import UsersFileError

    try:
        app = create_app(serving_db=args.serving_db, users_file=args.users)
    except UsersFileError as exc:
        print(f"lexrecon serve: {exc}", file=sys.stderr)
        return 2
    print(f"lexrecon dashboard on http://{args.host}:{args.port}/ (sign in; demo users in "
          "docs/dashboard.md)", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0
