"""LEDES export: download the invoices chosen with the filter bar (period, client, matter) as
one LEDES 1998B file, written by ``reports.ledes_export`` with the project's LEDES writer.

Access: the rejections page's roles (e-billing work); partners export only their own
invoices: the invoice list comes from ``queries.ledes_export_invoices`` with the signed-in
scope, on the server, for every click.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import dash
from dash import Input, Output, dcc, html, no_update

from dashboards import auth, queries
from dashboards import components as c

PAGE = "ledes_export"  # roles: auth.PAGE_ACCESS
MAX_INVOICES = 5000


def layout(**_query) -> html.Div:
    denied = c.guard(PAGE)
    if denied:
        return denied
    return html.Div(
        [
            html.H2("LEDES export"),
            html.P("Choose the invoices with the filters above (period = invoice month, client, "
                   "matter). The file passes `lexrecon check` and its totals equal the "
                   "warehouse's.", className="muted"),
            html.Div(id="lx-selection", className="kpis"),
            html.Button("Export LEDES 1998B", id="lx-export", className="button"),
            html.Div(id="lx-result"),
            dcc.Download(id="lx-download"),
        ],
        id="page-ledes_export",
    )


dash.register_page(__name__, path="/ledes-export", name="LEDES export", order=7, layout=layout)


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(Output("lx-selection", "children"), *c.FILTER_INPUTS)
    def _selection(*values):
        scope = auth.page_scope(PAGE)
        try:
            numbers = queries.ledes_export_invoices(c.serving_db(), scope, c.filters(*values))
        except queries.WarehouseUnavailable as exc:
            return c.unavailable(str(exc))
        return [c.kpi("Invoices selected", f"{len(numbers):,}")]

    @app.callback(Output("lx-download", "data"), Output("lx-result", "children"),
                  Input("lx-export", "n_clicks"), *c.FILTER_STATES,
                  prevent_initial_call=True)
    def _export(n_clicks, *values):
        from reports.ledes_export import LedesExportError, export_ledes

        scope = auth.page_scope(PAGE)  # checked again on the server for the download itself
        if not n_clicks:
            return no_update, no_update
        try:
            numbers = queries.ledes_export_invoices(c.serving_db(), scope, c.filters(*values))
        except queries.WarehouseUnavailable as exc:
            return no_update, c.unavailable(str(exc))
        if not numbers:
            return no_update, c.unavailable("No invoice matches the filters.")
        if len(numbers) > MAX_INVOICES:
            return no_update, c.unavailable(f"{len(numbers):,} invoices: narrow the filters to "
                                            f"at most {MAX_INVOICES:,}.")
        with tempfile.TemporaryDirectory(prefix="lexrecon-ledes-") as work:
            out = Path(work) / "invoices.txt"
            try:
                result = export_ledes(c.serving_db(), out, invoices=numbers)
            except LedesExportError as exc:
                return no_update, c.unavailable(str(exc))
            content = out.read_text(encoding="ascii")
        note = f"{len(result.invoices)} invoice(s), {result.lines} line(s)"
        if result.refused:
            note += f"; refused: {', '.join(f'{k} ({v})' for k, v in result.refused.items())}"
        name = f"ledes-{len(result.invoices)}-invoices.txt"
        return {"content": content, "filename": name}, html.P(note, id="lx-note")
