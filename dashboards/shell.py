"""The frame around every page: header, navigation for the user's role, the filter bar."""
from __future__ import annotations

import dash
from dash import Input, Output, dcc, html
from flask_login import current_user

from dashboards import auth, components, queries

PAGE_PATHS = {
    "overview": ("/", "Overview"),
    "variance": ("/variance", "Variance"),
    "aging": ("/aging", "Aging & collections"),
    "rejections": ("/rejections", "Rejections & OCG"),
    "leakage": ("/leakage", "Write-offs & leakage"),
    "collections_worklist": ("/collections", "Collections"),
    "prebill_exceptions": ("/prebill", "Pre-bill"),
    "ledes_export": ("/ledes-export", "LEDES export"),
    "evidence": ("/evidence", "Evidence"),
    "health": ("/health", "Data health"),
}


def layout() -> html.Div:
    user = current_user if current_user.is_authenticated else None
    # Dash also calls this once at start-up, outside any login, to validate the layout;
    # anonymous HTTP requests never get here (auth.protect answers 401 first).
    nav = [dcc.Link(label, href=path, className="nav-link", id=f"nav-{page}")
           for page, (path, label) in PAGE_PATHS.items()
           if user is not None and user.may_open(page)
           and f"dashboards.pages.{page}" in dash.page_registry]
    who = ""
    if user is not None:
        who = f"{user.name} · {user.role}"
        if user.role == "partner":
            who += f" ({user.timekeeper_id})"
    return html.Div(
        [
            dcc.Location(id="url"),
            html.Header(
                [html.Div([html.Span("lexrecon", className="brand"),
                           html.Span("Hale & Marsh LLP", className="firm")]),
                 html.Nav(nav, className="nav"),
                 html.Div([html.Span(who, id="whoami", className="whoami"),
                           html.A("Sign out", href="/logout", className="signout")],
                          className="user")],
                className="topbar",
            ),
            components.filter_bar(),
            html.Main(dash.page_container, className="content"),
        ],
        className="shell",
    )


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("flt-period-from", "options"), Output("flt-period-to", "options"),
        Output("flt-office", "options"), Output("flt-partner", "options"),
        Output("flt-client", "options"), Output("flt-matter", "options"),
        Input("url", "pathname"), Input("flt-client", "value"),
    )
    def _filter_options(_pathname, client):
        scope = auth.signed_in_user().scope
        try:
            opts = queries.filter_options(components.serving_db(), scope)
        except queries.WarehouseUnavailable:
            return [], [], [], [], [], []
        matters = [{"label": m["label"], "value": m["value"]} for m in opts["matters"]
                   if not client or m["client"] == client]
        return (opts["periods"], opts["periods"], opts["offices"], opts["partners"],
                opts["clients"], matters)
