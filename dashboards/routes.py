"""Plain Flask routes beside the Dash app: login, logout and CSV downloads."""
from __future__ import annotations

import csv
import io
import shutil
from datetime import date, datetime
from decimal import Decimal
from html import escape

from flask import Flask, Response, abort, redirect, request
from flask_login import login_user, logout_user

from dashboards import auth, evidence, queries

# A cell that starts with one of these could start a spreadsheet formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lexrecon · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/lexrecon.css"></head>
<body class="login-body"><main class="login-card">
<h1>lexrecon</h1><p class="muted">Billing reconciliation · Hale &amp; Marsh LLP</p>
{error}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="username">User</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">Sign in</button>
</form></main></body></html>"""


def neutralise(value: object) -> object:
    """A text cell starting with = + - @ (or tab/CR) gets a leading quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def csv_text(header: list[str], rows: list[tuple]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue()


def register_routes(server: Flask, users: dict[str, auth.User]) -> None:
    @server.route("/login", methods=["GET", "POST"])
    def login():
        error = ""
        nxt = auth.safe_next(request.values.get("next"))
        if request.method == "POST":
            user = auth.authenticate(users, request.form.get("username", ""),
                                     request.form.get("password", ""))
            if user is not None:
                login_user(user)
                return redirect(nxt)
            error = '<p class="error" id="login-error">Unknown user or wrong password.</p>'
        return Response(LOGIN_PAGE.format(error=error, next=escape(nxt, quote=True)),
                        status=401 if error else 200, mimetype="text/html")

    @server.route("/logout")
    def logout():
        logout_user()
        return redirect("/login")

    @server.route("/evidence-pack")
    def evidence_pack():
        user = auth.signed_in_user()
        auth.page_scope("evidence")
        if user.role not in auth.EVIDENCE_EXPORT_ROLES:
            abort(403)
        f = queries.Filters.from_inputs(request.args.get("period_from"),
                                        request.args.get("period_to"))
        try:
            path = evidence.build(server.config["LEXRECON_SERVING_DB"](), f.period_from,
                                  f.period_to, user=user.username)
        except evidence.EvidencePackUnavailable as exc:
            return Response(str(exc), status=501, mimetype="text/plain")
        except evidence.EvidencePackFailed as exc:
            return Response(f"The evidence pack could not be built: {exc}", status=409,
                            mimetype="text/plain")
        try:
            data = path.read_bytes()  # a few MB per month; the work directory goes at once
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
        return Response(data, mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{path.name}"',
            "Cache-Control": "no-store"})

    @server.route("/export/<name>.csv")
    def export(name: str):
        if name not in queries.DATASETS:
            abort(404)
        ds = queries.DATASETS[name]
        scope = auth.page_scope(ds.page)  # 401/403 unless this role may see that page
        args = request.args
        f = queries.Filters.from_inputs(args.get("period_from"), args.get("period_to"),
                                        args.get("office"), args.get("partner"),
                                        args.get("client"), args.get("matter"))
        extra = {k[2:]: v for k, v in args.items() if k.startswith("x_")}
        try:
            header, rows = queries.table_export(
                server.config["LEXRECON_SERVING_DB"](), name, scope, f, extra=extra)
        except queries.WarehouseUnavailable as exc:
            return Response(str(exc), status=503, mimetype="text/plain")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Response(
            csv_text(header, rows), mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"',
                     "Cache-Control": "no-store"},
        )
