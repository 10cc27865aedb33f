"""Overview: billed, collected, the realization chain, AR, DSO, lockup and leakage, with trends."""
from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Output, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "overview"


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Overview"),
            c.dcc.Loading(html.Div(id="ov-kpis", className="kpis"), type="dot"),
            html.Div([html.Div(c.graph("ov-trend"), className="panel"),
                      html.Div(c.graph("ov-chain"), className="panel")], className="row2"),
            html.Div(c.graph("ov-lockup"), className="panel"),
            c.grid("ov-invoices", "invoices", row_id="params.data.invoice_number"),
        ],
        id="page-overview",
    )


dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("ov-kpis", "children"), Output("ov-trend", "figure"), Output("ov-chain", "figure"),
        Output("ov-lockup", "figure"),
        *c.FILTER_INPUTS,
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values)
        try:
            k = queries.overview_kpis(c.serving_db(), scope, f)
            trend = queries.overview_trend(c.serving_db(), scope, f)
            lockup = queries.lockup_trend(c.serving_db(), scope, f)
        except queries.WarehouseUnavailable as exc:
            empty = c.empty_figure("no data")
            return c.unavailable(str(exc)), empty, empty, empty
        lockup_hint = k["lockup_note"] or (
            f"WIP {c.days(k['wip_days'])} + debtors {c.days(k['debtor_days'])}, "
            f"{k['lockup_month']}")
        tiles = [
            c.kpi("Billed", c.money(k["billed_usd"]), "invoices dated in the period"),
            c.kpi("Collected", c.money(k["cash_collected_usd"]), "cash received in the period"),
            c.kpi("Realization", c.pct(k["realization"]),
                  f"billing {c.pct(k['billing_realization'])} × collection "
                  f"{c.pct(k['collection_realization'])}"),
            c.kpi("Open AR", c.money(k["ar_usd"]), f"as of {k['ar_as_of'] or '–'}"),
            c.kpi("DSO", c.days(k["dso_days"]),
                  k["lockup_note"] or "AR ÷ billings per day (3 months)"),
            c.kpi("Lockup", c.days(k["lockup_days"]), lockup_hint),
            c.kpi("WIP", c.money(k["wip_usd"]), "unbilled recorded value"),
            c.kpi("Leakage", c.money(k["leakage_usd"]),
                  f"worked value lost; write-offs {c.money(k['written_off_usd'])}"),
        ]
        if trend:
            months = [r["month"] for r in trend]
            fig = go.Figure()
            for key, name in (("worked_usd", "Worked at standard"),
                              ("billed_usd", "Billed"),
                              ("collected_cohort_usd", "Collected (of that month's bills)"),
                              ("cash_collected_usd", "Cash received")):
                fig.add_bar(x=months, y=[r[key] for r in trend], name=name)
            fig.add_scatter(x=months, y=[(r["billing_realization"] or 0) * 100 for r in trend],
                            name="Billing realization %", yaxis="y2", mode="lines+markers")
            fig.update_xaxes(type="category", categoryorder="category ascending")
            fig.update_layout(barmode="group", yaxis={"title": "USD"},
                              yaxis2={"title": "%", "overlaying": "y", "side": "right",
                                          "rangemode": "tozero", "showgrid": False})
            trend_fig = c.figure(fig, "Per invoice month")
        else:
            trend_fig = c.empty_figure("No activity in this selection")
        chain = go.Figure(go.Funnel(
            y=["Worked at standard", "Billed fees", "Approved", "Collected"],
            x=[k["worked_usd"], k["billed_fees_usd"],
               k["billed_fees_usd"] * (k["approval_realization"] or 0),
               k["billed_fees_usd"] * (k["collection_realization"] or 0)],
            texttemplate="%{value:$,.0f}<br>%{percentInitial:.1%}", marker={"color": c.SERIES[:4]},
        ))
        chain_fig = c.figure(chain, "Realization chain (invoices of the period)")
        if lockup:
            months = [r["month"] for r in lockup]
            fig = go.Figure()
            fig.add_bar(x=months, y=[r["wip_days"] for r in lockup], name="WIP days")
            fig.add_bar(x=months, y=[r["debtor_days"] for r in lockup], name="Debtor days")
            fig.add_scatter(x=months, y=[r["dso_days"] for r in lockup], name="DSO",
                            mode="lines+markers")
            fig.update_xaxes(type="category", categoryorder="category ascending")
            fig.update_layout(barmode="stack", yaxis_title="days")
            lockup_fig = c.figure(fig, "Lockup (WIP + debtor days) and DSO at each month end")
        else:
            lockup_fig = c.empty_figure(k["lockup_note"] or "No lockup data in this selection")
        return tiles, trend_fig, chain_fig, lockup_fig

    c.register_grid(app, "ov-invoices", "invoices", PAGE)
