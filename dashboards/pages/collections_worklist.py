"""Collections worklist: open invoices ranked by payment likelihood, with the reasons behind
each score, the dunning stage, the next step and who it escalates to.

Same audience and scope as the aging page (partners see only their own invoices, enforced in
``queries.scored_collections_worklist`` from the signed-in user's scope). The score comes from
``reports.collections`` (fitted on the firm's own history); the held-out ranking quality is
shown above the table.
"""
from __future__ import annotations

import dash
from dash import Output, dcc, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "collections_worklist"  # roles: auth.PAGE_ACCESS
COLUMNS = (("rank", "#"), ("invoice_number", "Invoice"), ("client_name", "Client"),
           ("days_past_due", "Days past due"), ("currency", "Cur."), ("open_amount", "Open"),
           ("payment_likelihood", "P(paid in 30 d)"), ("stage_label", "Stage"),
           ("reasons_lower", "Why (lowers the score)"), ("next_step", "Next step"),
           ("escalate_to", "Escalate to"))
MAX_ROWS = queries.WORKLIST_ROWS


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Collections worklist: who to chase first"),
            html.P("Open invoices needing action first, least likely to be paid within 30 days "
                   "first. The score is learned from the firm's own payment history; dunning "
                   "letter drafts: `lexrecon collections --out DIR`.", className="muted"),
            dcc.Loading(html.Div(id="cw-summary", className="kpis"), type="dot"),
            html.Div(dcc.Loading(html.Div(id="cw-table"), type="dot"), className="panel"),
        ],
        id="page-collections_worklist",
    )


dash.register_page(__name__, path="/collections", name="Collections worklist", order=3,
                   layout=layout)


def _cell(key: str, value) -> html.Td:
    if value is None:
        return html.Td("")
    if key == "open_amount":
        return html.Td(f"{float(value):,.2f}", className="num")
    if key == "payment_likelihood":
        return html.Td(f"{float(value):.0%}", className="num")
    return html.Td(str(value))


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(Output("cw-summary", "children"), Output("cw-table", "children"),
                  *c.FILTER_INPUTS)
    def _update(*values):
        scope = auth.page_scope(PAGE)  # 401/403 on the server, for every call
        f = c.filters(*values)
        try:
            data = queries.scored_collections_worklist(c.serving_db(), scope, f, limit=MAX_ROWS)
        except queries.WarehouseUnavailable as exc:
            return c.unavailable(str(exc)), ""
        rows = data["rows"]
        summary = [
            c.kpi("As of", str(data["as_of"] or "–")),
            c.kpi("Open invoices", f"{data['count']:,}", f"{data['past_due']:,} past due"),
            c.kpi("Held-out AUC", "–" if data.get("auc") is None else f"{data['auc']:.2f}",
                  data["evaluation"], id_="cw-auc"),
        ]
        table = html.Table(
            [html.Thead(html.Tr([html.Th(label) for _, label in COLUMNS])),
             html.Tbody([html.Tr([_cell(k, r.get(k)) for k, _ in COLUMNS])
                         for r in rows[:MAX_ROWS]])],
            className="simple", id="cw-grid")
        return summary, table
