"""Aging and collections: open AR by bucket per client or matter, its trend, the worklist."""
from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboards import auth, queries
from dashboards import components as c

PAGE = "aging"
BUCKET_COLORS = {"0-30": "#2e7d4f", "31-60": "#8fb94b", "61-90": "#e0b43c", "91-120": "#d9822b",
                 "120+": "#b03a2e"}


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Aging and collections"),
            html.Div([html.Label("Group by", htmlFor="ag-by"),
                      dcc.RadioItems(id="ag-by", value="client", inline=True,
                                     options=[{"label": "Client", "value": "client"},
                                              {"label": "Matter", "value": "matter"}])],
                     className="toolbar"),
            html.Div([html.Div(c.graph("ag-buckets"), className="panel"),
                      html.Div(c.graph("ag-trend"), className="panel")], className="row2"),
            c.grid("ag-worklist", "collections_worklist"),
        ],
        id="page-aging",
    )


dash.register_page(__name__, path="/aging", name="Aging & collections", order=2, layout=layout)


def _bucket_order(buckets: set[str]) -> list[str]:
    known = [b for b in queries.AGING_BUCKET_ORDER if b in buckets]
    return known + sorted(buckets - set(known))


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("ag-buckets", "figure"), Output("ag-trend", "figure"),
        *c.FILTER_INPUTS, Input("ag-by", "value"),
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values[:6])
        by = values[6] if values[6] in ("client", "matter") else "client"
        try:
            buckets = queries.aging_buckets(c.serving_db(), scope, f, by)
            trend = queries.aging_trend(c.serving_db(), scope, f)
        except queries.WarehouseUnavailable as exc:
            return c.empty_figure(str(exc)), c.empty_figure("no data")
        rows = buckets["rows"]
        if rows:
            labels = sorted({r["label"] for r in rows}, key=lambda s: str(s))
            fig = go.Figure()
            for b in _bucket_order({r["bucket"] for r in rows}):
                vals = {r["label"]: r["open_usd"] for r in rows if r["bucket"] == b}
                fig.add_bar(y=labels, x=[vals.get(lbl, 0) for lbl in labels], name=b,
                            orientation="h", marker_color=BUCKET_COLORS.get(b))
            fig.update_layout(barmode="stack", xaxis_title="USD open", legend_traceorder="normal")
            bucket_fig = c.figure(fig, f"Open AR by {by} as of {buckets['as_of']}")
            bucket_fig.update_layout(height=max(320, 22 * len(labels) + 120))
        else:
            bucket_fig = c.empty_figure("No open AR in this selection")
        if trend:
            fig = go.Figure()
            for b in _bucket_order({r["bucket"] for r in trend}):
                pts = [r for r in trend if r["bucket"] == b]
                fig.add_scatter(x=[r["as_of_date"] for r in pts],
                                y=[r["open_usd"] for r in pts], name=b, stackgroup="ar",
                                mode="lines", line_color=BUCKET_COLORS.get(b))
            trend_fig = c.figure(fig, "Open AR over time, by bucket")
        else:
            trend_fig = c.empty_figure("No AR snapshots in this selection")
        return bucket_fig, trend_fig

    c.register_grid(app, "ag-worklist", "collections_worklist", PAGE)
