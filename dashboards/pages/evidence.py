"""Evidence: tie-out checks with pass/fail for a period; the auditor's evidence-pack export."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Output, dcc, html

from dashboards import auth, evidence, queries
from dashboards import components as c

PAGE = "evidence"


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Evidence: tie-outs for the period"),
            html.P("Choose the period with From / To above. Each check is computed on the "
                   "published marts now, or read from the dbt tie-out tests stored with the "
                   "build (schema audit).", className="muted"),
            dcc.Loading(html.Div(id="ev-summary", className="kpis"), type="dot"),
            html.Div(dcc.Loading(html.Div(id="ev-checks"), type="dot"), className="panel"),
            html.Div(id="ev-pack", className="hook"),
        ],
        id="page-evidence",
    )


dash.register_page(__name__, path="/evidence", name="Evidence", order=5, layout=layout)


def _status(s: str) -> html.Span:
    return html.Span(s.upper(), className=f"status-{s}" if s in ("pass", "fail") else "muted")


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("ev-summary", "children"), Output("ev-checks", "children"),
        Output("ev-pack", "children"),
        *c.FILTER_INPUTS,
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        user = auth.signed_in_user()
        f = c.filters(*values)
        period = f"{f.period_from or 'first month'} – {f.period_to or 'last month'}"
        try:
            checks = queries.tie_outs(c.serving_db(), scope, f)
        except queries.WarehouseUnavailable as exc:
            return c.unavailable(str(exc)), "", ""
        passed = sum(1 for r in checks if r["status"] == "pass")
        failed = sum(1 for r in checks if r["status"] == "fail")
        summary = [
            html.Div([html.Div("Period", className="kpi-label"),
                      html.Div(period, className="kpi-value", style={"fontSize": "16px"})],
                     className="kpi"),
            html.Div([html.Div("Passed", className="kpi-label"),
                      html.Div(str(passed), className="kpi-value")], className="kpi pass"),
            html.Div([html.Div("Failed", className="kpi-label"),
                      html.Div(str(failed), className="kpi-value")],
                     className="kpi fail" if failed else "kpi pass", id="ev-failed"),
        ]
        table = html.Table(
            [html.Thead(html.Tr([html.Th(h) for h in ("Check", "Status", "Exceptions",
                                                        "Σ |difference|", "What was checked")]))]
            + [html.Tbody([html.Tr([html.Td(r["check"]), html.Td(_status(r["status"])),
                                    html.Td("–" if r["exceptions"] is None else r["exceptions"],
                                            className="num"),
                                    html.Td("" if r["difference"] is None
                                            else f"{r['difference']:,.2f}", className="num"),
                                    html.Td(r["detail"])]) for r in checks])],
            className="simple", id="ev-table")
        query = urlencode({k: v for k, v in (("period_from", f.period_from),
                                             ("period_to", f.period_to)) if v})
        may_export = user.role in auth.EVIDENCE_EXPORT_ROLES
        pack = [
            html.H3("Evidence pack (auditor)"),
            html.P(["Hook: ", html.Code(evidence.HOOK_SIGNATURE),
                    " — written by a colleague. ",
                    "Available: one pack per month of the period, zipped." if evidence.available()
                    else "Not written yet: the download answers 501 until it exists."]),
        ]
        if may_export:
            pack.append(html.A("Export evidence pack", href="/evidence-pack"
                               + (f"?{query}" if query else ""), className="button",
                               id="ev-pack-link"))
        else:
            pack.append(html.P("Exporting the pack is for the auditor and admin roles.",
                               className="muted"))
        return summary, table, pack
