"""Pieces every page uses: the filter bar, KPI tiles, infinite-scroll grids with CSV export,
and the server-side wiring for them. No data is read here at import time."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from flask import current_app

from dashboards import auth, queries

FILTER_IDS = ("flt-period-from", "flt-period-to", "flt-office", "flt-partner", "flt-client",
              "flt-matter")
FILTER_INPUTS = [Input(i, "value") for i in FILTER_IDS]
FILTER_STATES = [State(i, "value") for i in FILTER_IDS]

COLORS = {"ink": "#1f2a37", "accent": "#2f5d8a", "good": "#2e7d4f", "bad": "#b03a2e",
          "muted": "#8a94a3", "warn": "#c98a1b"}
SERIES = ["#2f5d8a", "#5c9bd1", "#2e7d4f", "#c98a1b", "#b03a2e", "#7a5195", "#8a94a3",
          "#3b8686", "#d4a373"]


def serving_db() -> str:
    return current_app.config["LEXRECON_SERVING_DB"]()


def filters(*values: Any) -> queries.Filters:
    return queries.Filters.from_inputs(*values)


def filter_bar() -> html.Div:
    def dd(id_: str, label: str, placeholder: str) -> html.Div:
        return html.Div(
            [html.Label(label, htmlFor=id_),
             dcc.Dropdown(id=id_, options=[], placeholder=placeholder, clearable=True,
                          persistence=True, persistence_type="session")],
            className="filter",
        )

    return html.Div(
        [dd("flt-period-from", "From", "first month"), dd("flt-period-to", "To", "last month"),
         dd("flt-office", "Office", "all offices"), dd("flt-partner", "Partner", "all partners"),
         dd("flt-client", "Client", "all clients"), dd("flt-matter", "Matter", "all matters")],
        className="filter-bar", id="filter-bar",
    )


def kpi(label: str, value: str, hint: str | None = None, id_: str | None = None) -> html.Div:
    props = {"id": id_} if id_ else {}
    return html.Div([html.Div(label, className="kpi-label"),
                     html.Div(value, className="kpi-value"),
                     html.Div(hint or "", className="kpi-hint")], className="kpi", **props)


def money(v: Any) -> str:
    if v is None:
        return "–"
    v = float(v)
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:,.2f}M"
    if abs(v) >= 10_000:
        return f"${v / 1_000:,.1f}k"
    return f"${v:,.2f}"


def pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def days(v: Any) -> str:
    return "–" if v is None else f"{float(v):.0f} days"


def figure(fig: go.Figure, title: str | None = None) -> go.Figure:
    fig.update_layout(
        title=title, template="plotly_white", margin={"l": 40, "r": 20, "t": 40 if title else 10, "b": 40},
        font={"family": "Liberation Sans, Arial, sans-serif", "size": 12, "color": COLORS["ink"]},
        legend={"orientation": "h", "y": -0.18}, colorway=SERIES, height=320,
    )
    return fig


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": COLORS["muted"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return figure(fig)


def graph(id_: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=id_, config={"displaylogo": False}), type="dot")


def unavailable(message: str) -> html.Div:
    return html.Div(message, className="notice")


# --------------------------------------------------------------------------- grids
def _col_def(name: str, kind: str) -> dict:
    d: dict[str, Any] = {"field": name, "headerName": name.replace("_", " ")}
    if kind in ("money", "number"):
        d["type"] = "rightAligned"
        d["filter"] = "agNumberColumnFilter"
        if kind == "money":
            d["valueFormatter"] = {"function": "params.value == null ? '' : "
                                   "d3.format(',.2f')(params.value)"}
    else:
        d["filter"] = "agTextColumnFilter"
    d["filterParams"] = {"maxNumConditions": 1, "buttons": ["reset"]}
    return d


def grid(grid_id: str, dataset: str, height: int = 420, row_id: str | None = None) -> html.Div:
    """An AG Grid over a query-module dataset with the infinite row model and a CSV link."""
    ds = queries.DATASETS[dataset]
    options: dict[str, Any] = {
        "rowBuffer": 0, "cacheBlockSize": 100, "maxBlocksInCache": 20,
        "infiniteInitialRowCount": 1, "animateRows": False,
    }
    if row_id:
        options["getRowId"] = {"function": row_id}
    return html.Div(
        [
            html.Div([html.H3(ds.title),
                      html.A("Export CSV", id=f"{grid_id}-export", href="", className="button",
                             download="")],
                     className="grid-head"),
            dag.AgGrid(
                id=grid_id,
                columnDefs=[_col_def(n, k) for n, _, k in ds.columns],
                defaultColDef={"sortable": True, "resizable": True, "minWidth": 110,
                               "flex": 1},
                rowModelType="infinite",
                dashGridOptions=options,
                style={"height": f"{height}px"},
                className="ag-theme-alpine",
            ),
            dcc.Store(id=f"{grid_id}-refresh"),
        ],
        className="panel",
    )


def export_href(dataset: str, f: queries.Filters, extra: dict | None = None) -> str:
    params = {k: v for k, v in {
        "period_from": f.period_from, "period_to": f.period_to, "office": f.office,
        "partner": f.partner, "client": f.client, "matter": f.matter,
    }.items() if v}
    for k, v in (extra or {}).items():
        if v:
            params[f"x_{k}"] = v
    return f"/export/{dataset}.csv" + ("?" + urlencode(params) if params else "")


def register_grid(app, grid_id: str, dataset: str, page: str,
                  extra_states: dict[str, State] | None = None,
                  require_extra: bool = False) -> None:
    """Server side of a grid: blocks of rows on request, refresh and export link on filter
    change. ``extra_states`` maps drill-down keys (the dataset's ``extra``) to Dash States."""
    extra_states = extra_states or {}
    keys = list(extra_states)
    extra_inputs = [Input(s.component_id, s.component_property) for s in extra_states.values()]

    @app.callback(
        Output(grid_id, "getRowsResponse"),
        Input(grid_id, "getRowsRequest"),
        *FILTER_STATES,
        *extra_states.values(),
    )
    def _rows(request, *values):
        scope = auth.page_scope(page)
        if not request or not isinstance(request, dict):  # a tampered request: no 500
            return no_update
        f = filters(*values[:6])
        extra = dict(zip(keys, values[6:]))
        if require_extra and not all(extra.values()):
            return {"rowData": [], "rowCount": 0}
        try:
            return queries.table_rows(
                serving_db(), dataset, scope, f, request.get("startRow", 0),
                request.get("endRow", 100), request.get("sortModel"),
                request.get("filterModel"), extra)
        except queries.WarehouseUnavailable:
            return {"rowData": [], "rowCount": 0}

    @app.callback(
        Output(f"{grid_id}-export", "href"),
        *FILTER_INPUTS,
        *extra_inputs,
    )
    def _export(*values):
        auth.page_scope(page)
        return export_href(dataset, filters(*values[:6]), dict(zip(keys, values[6:])))

    # Filters changed: drop the grid's cached blocks so it asks the server again.
    app.clientside_callback(
        f"""function() {{
            const api = window.dash_ag_grid && window.dash_ag_grid.getApi
                ? dash_ag_grid.getApi('{grid_id}') : null;
            if (api) {{ api.purgeInfiniteCache(); }}
            return window.dash_clientside.no_update;
        }}""",
        Output(f"{grid_id}-refresh", "data"),
        *FILTER_INPUTS,
        *extra_inputs,
        prevent_initial_call=True,
    )


def guard(page: str) -> html.Div | None:
    """A message instead of the page when the signed-in role may not open it."""
    user = auth.signed_in_user()
    if user.may_open(page):
        return None
    return unavailable(f"The {page} page is not available to the {user.role} role.")
