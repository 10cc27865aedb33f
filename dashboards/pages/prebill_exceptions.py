"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, and uncoded
time with suggested UTBMS codes (and how often the suggestion is right on held-out entries).

Access: the leakage page's roles (pre-bill exceptions are leakage prevented); partners see
their own matters only, enforced in ``queries.prebill_exceptions`` from the signed-in scope.
"""
from __future__ import annotations

import dash
from dash import Output, dcc, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "prebill_exceptions"  # roles: auth.PAGE_ACCESS
MAX_ROWS = queries.PREBILL_ROWS
OCG_COLUMNS = (("code", "Rule"), ("time_entry_key", "Entry"), ("client_code", "Client"),
               ("matter_number", "Matter"), ("timekeeper_id", "Timekeeper"),
               ("entry_date", "Date"), ("amount_at_risk", "At risk"), ("message", "Why"))
CODE_COLUMNS = (("time_entry_key", "Entry"), ("matter_number", "Matter"),
                ("timekeeper_id", "Timekeeper"), ("entry_date", "Date"),
                ("narrative", "Narrative"), ("suggested_task_code", "Task"),
                ("suggested_activity_code", "Activity"), ("confidence", "Confidence"))


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Pre-bill exceptions"),
            html.P("Unbilled time checked against each client's billing guidelines by the OCG "
                   "rules engine, and uncoded entries with a suggested UTBMS task and activity "
                   "code learned from the firm's coded time.", className="muted"),
            dcc.Loading(html.Div(id="pb-summary", className="kpis"), type="dot"),
            html.Div([html.H3("Unbilled time that breaks the client's rules"),
                      dcc.Loading(html.Div(id="pb-ocg"), type="dot")], className="panel"),
            html.Div([html.H3("Uncoded time: suggested codes"),
                      dcc.Loading(html.Div(id="pb-codes"), type="dot")], className="panel"),
        ],
        id="page-prebill_exceptions",
    )


dash.register_page(__name__, path="/prebill", name="Pre-bill exceptions", order=6,
                   layout=layout)


def _table(rows: list[dict], columns, id_: str) -> html.Table:
    return html.Table(
        [html.Thead(html.Tr([html.Th(label) for _, label in columns])),
         html.Tbody([html.Tr([html.Td("" if r.get(k) is None else str(r.get(k)))
                              for k, _ in columns]) for r in rows[:MAX_ROWS]])],
        className="simple", id=id_)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(Output("pb-summary", "children"), Output("pb-ocg", "children"),
                  Output("pb-codes", "children"), *c.FILTER_INPUTS)
    def _update(*values):
        scope = auth.page_scope(PAGE)  # 401/403 on the server, for every call
        f = c.filters(*values)
        try:
            data = queries.prebill_exceptions(c.serving_db(), scope, f, limit=MAX_ROWS)
        except queries.WarehouseUnavailable as exc:
            return c.unavailable(str(exc)), "", ""
        summary = [
            c.kpi("Rule findings", f"{data['ocg_count']:,}", f"{data['rules_files']} rules files"),
            c.kpi("At risk", c.money(data["at_risk"])),
            c.kpi("Uncoded entries", f"{data['uncoded_count']:,}"),
            c.kpi("Suggestion accuracy", "–" if data["pair_accuracy"] is None
                  else f"{data['pair_accuracy']:.1%}", data["accuracy"], id_="pb-accuracy"),
        ]
        return (summary, _table(data["ocg"], OCG_COLUMNS, "pb-ocg-table"),
                _table(data["uncoded"], CODE_COLUMNS, "pb-codes-table"))
