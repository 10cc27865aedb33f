"""Data health: last successful load per source, freshness, the build's tie-out test results."""
from __future__ import annotations

import os

import dash
from dash import Input, Output, dcc, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "health"


def freshness_window_hours() -> float:
    """Same window as `lexrecon status` (LEXRECON_FRESHNESS_HOURS, default 12 h)."""
    try:
        return float(os.environ.get("LEXRECON_FRESHNESS_HOURS", "12"))
    except ValueError:
        return 12.0


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Data health"),
            dcc.Loading(html.Div(id="hl-warehouse", className="kpis"), type="dot"),
            html.Div([html.H3("Last successful load per source"), html.Div(id="hl-loads")],
                     className="panel"),
            html.Div([html.H3("dbt build that was published"), html.Div(id="hl-build")],
                     className="panel"),
            html.Div([html.H3("Tie-out tests stored with the build"), html.Div(id="hl-tests")],
                     className="panel"),
        ],
        id="page-health",
    )


dash.register_page(__name__, path="/health", name="Data health", order=6, layout=layout)


def _table(headers, rows, id_):
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                       html.Tbody([html.Tr(r) for r in rows])], className="simple", id=id_)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("hl-warehouse", "children"), Output("hl-loads", "children"),
        Output("hl-tests", "children"), Output("hl-build", "children"),
        Input("url", "pathname"),
    )
    def _update(_pathname):
        auth.page_scope(PAGE)
        db = c.serving_db()
        info = queries.warehouse_info(db)
        window = freshness_window_hours()
        tiles = [c.kpi("Warehouse published", info["published_at"] or "never",
                       f"{info['size_mb'] or 0} MB")]
        try:
            loads = queries.load_health(db)
        except queries.WarehouseUnavailable as exc:
            loads_view, loads = c.unavailable(str(exc)), []
        else:
            rows = []
            for r in loads:
                stale = r["age_hours"] is None or r["age_hours"] > window
                rows.append([html.Td(r["source"]), html.Td(r["last_load_at"] or "never"),
                             html.Td("–" if r["age_hours"] is None else f"{r['age_hours']:,.1f} h",
                                     className="num"),
                             html.Td(html.Span("STALE" if stale else "FRESH",
                                               className="status-fail" if stale
                                               else "status-pass")),
                             html.Td(r["load_id"]), html.Td(r["resources"], className="num"),
                             html.Td(r["received"], className="num"),
                             html.Td(r["loaded"], className="num"),
                             html.Td(r["quarantined"], className="num")])
            loads_view = _table(["Source", "Last load (UTC)", "Age", f"Fresh (≤ {window:g} h)",
                                 "Load id", "Resources", "Received", "Loaded", "Quarantined"],
                                rows, "hl-loads-table")
        try:
            tests = queries.test_results(db)
        except queries.WarehouseUnavailable as exc:
            tests_view, tests = c.unavailable(str(exc)), []
        else:
            tests_view = _table(
                ["Test", "Status", "Exceptions"],
                [[html.Td(t["test"]),
                  html.Td(html.Span(t["status"].upper(), className=f"status-{t['status']}")),
                  html.Td(t["exceptions"], className="num")] for t in tests],
                "hl-tests-table") if tests else html.P("No stored tie-out tests in this build.",
                                                       className="muted")
        stale = sum(1 for r in loads if r["age_hours"] is None or r["age_hours"] > window)
        tiles.append(c.kpi("Sources", f"{len(loads) - stale}/{len(loads)} fresh",
                           f"window {window:g} h"))
        tiles.append(c.kpi("Tie-out tests", f"{sum(t['status'] == 'pass' for t in tests)}/"
                                            f"{len(tests)} pass"))
        build = queries.build_results(db)
        if build is None:
            build_view = html.P("No dbt run results beside the warehouse file: it was not "
                                "published by `lexrecon publish`.", className="muted",
                                id="hl-build-missing")
        else:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(build["counts"].items()))
            build_view = [html.P(f"Generated {build['generated_at']}: {counts} "
                                 f"({build['tests']} tests).", id="hl-build-summary")]
            if build["problems"]:
                build_view.append(_table(
                    ["Node", "Status", "Failures", "Message"],
                    [[html.Td(p["node"]), html.Td(html.Span(p["status"].upper(),
                                                            className="status-fail")),
                      html.Td(p["failures"], className="num"), html.Td(p["message"])]
                     for p in build["problems"]], "hl-build-problems"))
        return tiles, loads_view, tests_view, build_view
