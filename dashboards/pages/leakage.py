"""Write-offs and leakage: where worked value is lost, by category; unrecorded calendar time."""
from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Output, dcc, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "leakage"
CATEGORY_LABELS = {"pre_bill_write_down": "Pre-bill write-down",
                   "ebilling_reduction": "E-billing reduction",
                   "ar_write_off": "AR write-off"}


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Write-offs and leakage"),
            dcc.Loading(html.Div(id="lk-kpis", className="kpis"), type="dot"),
            html.Div([html.Div(c.graph("lk-categories"), className="panel"),
                      html.Div(c.graph("lk-trend"), className="panel")], className="row2"),
            html.Div([html.H3("Unrecorded calendar time and other leakage"),
                      dcc.Loading(html.Div(id="lk-leakage"), type="dot")], className="panel"),
            c.grid("lk-unrecorded", "unrecorded_time", height=320),
            c.grid("lk-write-offs", "write_offs", height=360),
        ],
        id="page-leakage",
    )


dash.register_page(__name__, path="/leakage", name="Write-offs & leakage", order=4,
                   layout=layout)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("lk-kpis", "children"), Output("lk-categories", "figure"),
        Output("lk-trend", "figure"), Output("lk-leakage", "children"),
        *c.FILTER_INPUTS,
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values)
        db = c.serving_db()
        try:
            cats = queries.write_offs_by_category(db, scope, f)
            trend = queries.write_offs_trend(db, scope, f)
        except queries.WarehouseUnavailable as exc:
            return (c.unavailable(str(exc)), c.empty_figure("no data"),
                    c.empty_figure("no data"), "")
        totals: dict[str, float] = {}
        for r in cats:
            totals[r["category"]] = totals.get(r["category"], 0.0) + (r["usd"] or 0.0)
        tiles = [c.kpi("Value lost", c.money(sum(totals.values())), "all write-downs and offs")]
        tiles += [c.kpi(CATEGORY_LABELS.get(k, k), c.money(v)) for k, v in totals.items()]
        if cats:
            fig = go.Figure(go.Bar(
                y=[f"{CATEGORY_LABELS.get(r['category'], r['category'])}: {r['reason']}"
                   for r in cats],
                x=[r["usd"] for r in cats], orientation="h", marker_color=c.COLORS["bad"],
                text=[f"{r['items']} items" for r in cats], textposition="auto"))
            fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="USD lost")
            cat_fig = c.figure(fig, "Value lost by category and reason")
            cat_fig.update_layout(height=max(320, 30 * len(cats) + 120))
        else:
            cat_fig = c.empty_figure("No write-offs in this selection")
        if trend:
            fig = go.Figure()
            for cat in sorted({r["category"] for r in trend}):
                pts = [r for r in trend if r["category"] == cat]
                fig.add_bar(x=[r["month"] for r in pts], y=[r["usd"] for r in pts],
                            name=CATEGORY_LABELS.get(cat, cat))
            fig.update_layout(barmode="stack", yaxis_title="USD")
            fig.update_xaxes(type="category", categoryorder="category ascending")
            trend_fig = c.figure(fig, "Value lost per month")
        else:
            trend_fig = c.empty_figure("No write-offs in this selection")
        try:
            leak = queries.leakage_by_category(db, scope, f)
            if leak:
                leak_view = html.Table(
                    [html.Thead(html.Tr([html.Th("Category"), html.Th("Items"),
                                         html.Th("Hours"), html.Th("USD")]))]
                    + [html.Tbody([html.Tr([html.Td(r["category"].replace("_", " ").lower()),
                                            html.Td(r["items"], className="num"),
                                            html.Td(f"{r['hours'] or 0:,.1f}", className="num"),
                                            html.Td(c.money(r["usd"]), className="num")])
                                   for r in leak])],
                    className="simple", id="lk-leakage-table")
            else:
                leak_view = html.P("No leakage found in this selection.", className="muted")
        except queries.MartMissing as exc:
            leak_view = c.unavailable(str(exc))
        return tiles, cat_fig, trend_fig, leak_view

    c.register_grid(app, "lk-write-offs", "write_offs", PAGE)
    c.register_grid(app, "lk-unrecorded", "unrecorded_time", PAGE)
