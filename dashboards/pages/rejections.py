"""Rejections and OCG: rejection rate and money cut by reason, client, timekeeper; violations."""
from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from plotly.subplots import make_subplots

from dashboards import auth, queries
from dashboards import components as c

PAGE = "rejections"


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Rejections and OCG compliance"),
            dcc.Loading(html.Div(id="rj-kpis", className="kpis"), type="dot"),
            html.Div([html.Label("Break down by", htmlFor="rj-by"),
                      dcc.RadioItems(id="rj-by", value="reason", inline=True,
                                     options=[{"label": "Reason", "value": "reason"},
                                              {"label": "Client", "value": "client"},
                                              {"label": "Timekeeper", "value": "timekeeper"}])],
                     className="toolbar"),
            html.Div([html.Div(c.graph("rj-breakdown"), className="panel"),
                      html.Div([c.graph("rj-ocg"), html.Div(id="rj-ocg-note")],
                               className="panel")], className="row2"),
            c.grid("rj-rejections", "rejections", height=300),
            c.grid("rj-violations", "ocg_violations", height=300),
            c.grid("rj-cuts", "ebilling_cuts", height=300),
        ],
        id="page-rejections",
    )


dash.register_page(__name__, path="/rejections", name="Rejections & OCG", order=3, layout=layout)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("rj-kpis", "children"), Output("rj-breakdown", "figure"),
        Output("rj-ocg", "figure"), Output("rj-ocg-note", "children"),
        *c.FILTER_INPUTS, Input("rj-by", "value"),
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values[:6])
        by = values[6] if values[6] in ("reason", "client", "timekeeper") else "reason"
        db = c.serving_db()
        try:
            s = queries.rejection_summary(db, scope, f)
            rows = queries.rejection_breakdown(db, scope, f, by)
        except queries.WarehouseUnavailable as exc:
            return c.unavailable(str(exc)), c.empty_figure("no data"), c.empty_figure(
                "no data"), ""
        tiles = [
            c.kpi("E-billed invoices", f"{s['submitted']:,}", "submitted to a platform"),
            c.kpi("Rejected", f"{s['invoices_rejected']:,}",
                  f"{s['rejections']:,} rejections, {s['unresolved']:,} unresolved"),
            c.kpi("Rejection rate", c.pct(s["rejection_rate"]), "rejected ÷ e-billed invoices"),
            c.kpi("Money cut", c.money(s["money_cut_usd"]), "line reductions by platforms"),
            c.kpi("Recovered on appeal", c.money(s["recovered_usd"])),
        ]
        if rows:
            labels = [str(r["label"]) for r in rows]
            fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                                column_widths=[0.6, 0.4],
                                subplot_titles=("Money cut (USD)", "Rejections"))
            fig.add_bar(y=labels, x=[r["money_cut_usd"] for r in rows], name="Money cut (USD)",
                        orientation="h", marker_color=c.COLORS["bad"], row=1, col=1)
            fig.add_bar(y=labels, x=[r["rejections"] for r in rows], name="Rejections",
                        orientation="h", marker_color=c.COLORS["accent"], row=1, col=2)
            fig.update_yaxes(autorange="reversed")
            fig.update_xaxes(tickformat=",d", rangemode="tozero", row=1, col=2,
                             dtick=1 if max(r["rejections"] for r in rows) <= 10 else None)
            breakdown = c.figure(fig, f"Money cut and rejections by {by}")
            breakdown.update_layout(height=max(320, 28 * len(labels) + 140), showlegend=False)
        else:
            breakdown = c.empty_figure("No rejections or cuts in this selection")
        try:
            ocg = queries.ocg_violations_by_rule(db, scope, f)
            note = ""
            if ocg:
                fig = go.Figure(go.Bar(x=[r["rule"] for r in ocg],
                                       y=[r["violations"] for r in ocg],
                                       marker_color=c.COLORS["warn"],
                                       customdata=[r["amount"] or 0 for r in ocg],
                                       hovertemplate="%{x}: %{y} lines, %{customdata:,.2f} "
                                                     "USD at risk<extra></extra>"))
                fig.update_yaxes(title="lines", tickformat=",d", rangemode="tozero",
                                 dtick=1 if max(r["violations"] for r in ocg) <= 10 else None)
                ocg_fig = c.figure(fig, "OCG violations by rule (LEDES lines)")
            else:
                ocg_fig = c.empty_figure("No OCG violations in this selection")
        except queries.MartMissing as exc:
            ocg_fig = c.empty_figure("OCG violations not available")
            note = c.unavailable(str(exc))
        return tiles, breakdown, ocg_fig, note

    c.register_grid(app, "rj-rejections", "rejections", PAGE)
    c.register_grid(app, "rj-cuts", "ebilling_cuts", PAGE)
    c.register_grid(app, "rj-violations", "ocg_violations", PAGE)
