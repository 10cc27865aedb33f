"""Variance: the invoice file versus the sales system by month, partner and client; a waterfall
of causes that adds up to the total; drill-down month → invoices → lines → source records."""
from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update

from dashboards import auth, queries
from dashboards import components as c

PAGE = "variance"


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("Invoice file versus sales system"),
            dcc.Store(id="va-month"), dcc.Store(id="va-key"), dcc.Store(id="va-invoice"),
            dcc.Loading(html.Div(id="va-kpis", className="kpis"), type="dot"),
            html.Div([html.Div(c.graph("va-by-month"), className="panel"),
                      html.Div(c.graph("va-waterfall"), className="panel")], className="row2"),
            html.Div([html.Div(c.graph("va-by-partner"), className="panel"),
                      html.Div(c.graph("va-by-client"), className="panel")], className="row2"),
            html.Div(id="va-crumbs", className="breadcrumb"),
            c.grid("va-invoices", "variance_invoices", height=320,
                   row_id="params.data.variance_key"),
            c.grid("va-lines", "invoice_lines", height=320,
                   row_id="params.data.invoice_number + '|' + params.data.line_number"),
            html.Div([html.H3("Source records"),
                      dcc.Loading(html.Div(id="va-sources"), type="dot")], className="panel"),
        ],
        id="page-variance",
    )


dash.register_page(__name__, path="/variance", name="Variance", order=1, layout=layout)


def _bar(rows: list[dict], title: str, horizontal: bool = False) -> go.Figure:
    if not rows:
        return c.empty_figure("No invoices or bookings in this selection")
    labels = [str(r["label"]) for r in rows]
    values = [r["variance_usd"] for r in rows]
    colors = [c.COLORS["bad"] if (v or 0) < 0 else c.COLORS["accent"] for v in values]
    custom = [[r["invoice_usd"], r["sales_usd"], (r["variance_pct"] or 0) * 100] for r in rows]
    hover = ("%{x}<br>variance %{y:,.2f} USD (%{customdata[2]:.2f}%)<br>invoices "
             "%{customdata[0]:,.2f} · sales %{customdata[1]:,.2f}<extra></extra>")
    if horizontal:
        bar = go.Bar(y=labels, x=values, orientation="h", marker_color=colors, customdata=custom,
                     hovertemplate=hover.replace("%{x}", "%{y}").replace("%{y:", "%{x:"))
    else:
        bar = go.Bar(x=labels, y=values, marker_color=colors, customdata=custom,
                     hovertemplate=hover)
    fig = c.figure(go.Figure(bar), title)
    if horizontal:
        fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="sales − invoices (USD)",
                          height=max(320, 26 * len(labels) + 120))
    else:
        fig.update_xaxes(type="category", categoryorder="category ascending")
        fig.update_layout(yaxis_title="sales − invoices (USD)")
    return fig


def _records_table(records: list[dict], id_: str) -> html.Div:
    """One record: a field / value list; several: a table. Scrolls sideways when wide."""
    def text(v):
        return "" if v is None else str(v)

    if len(records) == 1:
        table = html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(text(v))])
                                       for k, v in records[0].items()]),
                           className="simple kv", id=id_)
    else:
        cols = list(records[0]) if records else []
        table = html.Table(
            [html.Thead(html.Tr([html.Th(k) for k in cols])),
             html.Tbody([html.Tr([html.Td(text(r.get(k))) for k in cols]) for r in records])],
            className="simple", id=id_)
    return html.Div(table, className="scroll-x")


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output("va-kpis", "children"), Output("va-by-month", "figure"),
        Output("va-by-partner", "figure"), Output("va-by-client", "figure"),
        *c.FILTER_INPUTS,
    )
    def _update(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values)
        db = c.serving_db()
        try:
            months = queries.variance_breakdown(db, scope, f, "month")
            partners = queries.variance_breakdown(db, scope, f, "partner")
            clients = queries.variance_breakdown(db, scope, f, "client")
        except queries.WarehouseUnavailable as exc:
            empty = c.empty_figure("no data")
            return c.unavailable(str(exc)), empty, empty, empty
        inv = sum(r["invoice_usd"] or 0 for r in months)
        sales = sum(r["sales_usd"] or 0 for r in months)
        worst = max(months, key=lambda r: abs(r["variance_pct"] or 0), default=None)
        tiles = [
            c.kpi("Invoice file", c.money(inv), "non-void LPM invoices, USD at month-end rate"),
            c.kpi("Sales system", c.money(sales), "revenue bookings, USD"),
            c.kpi("Variance", c.money(sales - inv), c.pct((sales - inv) / inv) if inv else "–"),
            c.kpi("Largest monthly gap", c.pct(worst["variance_pct"]) if worst else "–",
                  worst["label"] if worst else ""),
        ]
        if f.matter:
            tiles.append(c.kpi("Matter filter", "not applied to charts",
                               "the monthly mart has no matter; the tables use it"))
        return (tiles, _bar(months, "Variance by month (click a month to drill down)"),
                _bar(partners[:25], "Variance by billing partner", horizontal=True),
                _bar(clients[:25], "Variance by client (largest 25)", horizontal=True))

    @app.callback(Output("va-month", "data"), Input("va-by-month", "clickData"),
                  prevent_initial_call=True)
    def _pick_month(click):
        auth.page_scope(PAGE)
        try:
            month = click["points"][0]["x"]
        except (TypeError, KeyError, IndexError):
            return no_update
        return month if isinstance(month, str) and queries.PERIOD_RE.match(month) else None

    @app.callback(Output("va-waterfall", "figure"), *c.FILTER_INPUTS, Input("va-month", "data"))
    def _waterfall(*values):
        scope = auth.page_scope(PAGE)
        f = c.filters(*values[:6])
        try:
            w = queries.variance_waterfall(c.serving_db(), scope, f, values[6])
        except queries.WarehouseUnavailable as exc:
            return c.empty_figure(str(exc))
        steps = [s for s in w["causes"] if s["usd"]]
        fig = go.Figure(go.Waterfall(
            x=["Invoice file"] + [s["cause"] for s in steps] + ["Sales system"],
            y=[w["invoice_usd"]] + [s["usd"] for s in steps] + [w["sales_usd"]],
            measure=["absolute"] + ["relative"] * len(steps) + ["total"],
            increasing={"marker": {"color": c.COLORS["accent"]}},
            decreasing={"marker": {"color": c.COLORS["bad"]}},
            totals={"marker": {"color": c.COLORS["muted"]}},
            texttemplate="%{delta:,.0f}", textposition="outside",
        ))
        ok = "causes add up ✓" if w["causes_add_up"] else "causes do NOT add up ✗"
        title = f"Causes {('in ' + w['month']) if w['month'] else 'in the period'}: {ok}"
        fig = c.figure(fig, title)
        levels = [w["invoice_usd"]]
        for s in steps:
            levels.append(levels[-1] + s["usd"])
        lo, hi = min(levels + [w["sales_usd"]]), max(levels + [w["sales_usd"]])
        pad = max(hi - lo, abs(hi) * 0.002, 1.0)
        # Zoom on the movements: the bars start below the lowest level, not at zero.
        fig.update_layout(yaxis={"range": [max(0.0, lo - 2 * pad), hi + pad], "title": "USD"},
                          showlegend=False)
        return fig

    @app.callback(Output("va-key", "data"), Output("va-invoice", "data"),
                  Input("va-invoices", "cellClicked"), Input("va-month", "data"),
                  prevent_initial_call=True)
    def _pick_invoice(cell, _month):
        auth.page_scope(PAGE)
        if dash.ctx.triggered_id == "va-month" or not cell or not isinstance(cell, dict):
            return None, None
        key = cell.get("rowId")
        if not isinstance(key, str) or not key:
            return None, None
        return key, (None if key.startswith("booking:") else key)

    @app.callback(Output("va-crumbs", "children"), Output("va-sources", "children"),
                  Input("va-month", "data"), Input("va-key", "data"),
                  Input("va-lines", "cellClicked"), State("va-invoice", "data"))
    def _sources(month, key, line_cell, invoice):
        scope = auth.page_scope(PAGE)
        trigger = dash.ctx.triggered_id
        crumbs = [html.Span(f"Month: {month or 'all (click a bar)'}")]
        if key:
            crumbs.append(html.Span(f" › {key}"))
        db = c.serving_db()
        try:
            if trigger == "va-lines" and isinstance(line_cell, dict) and line_cell and invoice:
                row_id = str(line_cell.get("rowId") or "")
                inv, _, line = row_id.partition("|")
                if inv != invoice:
                    return crumbs, no_update
                crumbs.append(html.Span(f" › line {line}"))
                rec = queries.source_records(db, scope, inv, line)
                if not rec["line"]:
                    return crumbs, html.P("Nothing to show.", className="muted")
                parts = [html.Div([html.H4("Invoice line (LPM)"),
                                   _records_table([rec["line"]], "va-src-line")])]
                if rec["time_entries"]:
                    parts.append(html.Div([html.H4("Time entry (LPM)"),
                                           _records_table(rec["time_entries"], "va-src-time")]))
                return crumbs, html.Div(parts, className="records")
            if key:
                rec = queries.variance_sources(db, scope, key)
                if not rec["variance"]:
                    return crumbs, html.P("Nothing to show.", className="muted")
                parts = [html.Div([html.H4("Variance row"),
                                   _records_table([rec["variance"]], "va-src-var")])]
                if rec["bookings"]:
                    parts.append(html.Div([html.H4("Sales-system bookings"),
                                           _records_table(rec["bookings"], "va-src-bookings")]))
                return crumbs, [html.Div(parts, className="records"),
                                html.P("Click an invoice line above for its time entry.",
                                       className="muted")]
        except queries.WarehouseUnavailable as exc:
            return crumbs, c.unavailable(str(exc))
        return crumbs, html.P("Click a month, then an invoice, then a line.", className="muted")

    c.register_grid(app, "va-invoices", "variance_invoices", PAGE,
                    extra_states={"variance_month": State("va-month", "data")})
    c.register_grid(app, "va-lines", "invoice_lines", PAGE,
                    extra_states={"invoice_number": State("va-invoice", "data")},
                    require_extra=True)
