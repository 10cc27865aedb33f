"""Security: the dashboard (``dashboards.app.create_app`` on the published tiny warehouse) and
the command line, attacked systematically:

- every route of the Flask URL map, every page and every Dash callback refuses an anonymous
  user (401 or a redirect to the login page, no data);
- each partner sends every callback other partners' clients, matters, partner ids, offices,
  invoice numbers and variance keys (in filters, grid requests and drill-down stores) and
  downloads every CSV export with them: no response carries a foreign matter, client or
  invoice;
- SQL injection strings in every filter of every callback, grid filter/sort models and every
  export parameter (values and ``x_`` column names): no server error, no SQL error text, no
  rows where a filter matches nothing, the warehouse unchanged;
- every text column of every mart starts with a formula character and every export is
  downloaded: no CSV cell can start a spreadsheet formula (only plain negative numbers may
  start with "-");
- secrets (client secrets, access tokens, password hashes, the webhook URL, the session key)
  never appear in ``lexrecon ingest``'s output or files, nor in evidence packs.
Everything is in-process (Flask's test client) or on 127.0.0.1.
"""
from __future__ import annotations

import csv
import io
import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from reliability_helpers import (
    PYTHON,
    REPO,
    TRIALS,
    Baseline,
    child_env,
    tally,
)

SUITE = "security"
USERS_FILE = REPO / "dashboards" / "users.yml"
PARTNERS = {"partner.nyc": "NY-TK0001", "partner.ldn": "LN-TK0001"}
EVIL_ALL = ["' OR 1=1 --", "x' OR '1'='1", "C0001'; DROP TABLE marts.fct_invoices; --",
            "1) or (1=1", "%", "_", "C000%", "\" or \"\"=\"",
            "'; select * from duckdb_settings(); --", "\\'; attach '/tmp/x.db' as x; --"]
EVIL = EVIL_ALL if TRIALS >= 3 else EVIL_ALL[:3] + ["%"]
SQL_ERRORS = re.compile(r"Parser Error|Binder Error|Catalog Error|Conversion Error|syntax error|"
                        r"duckdb\.|Traceback", re.IGNORECASE)
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
GRID_REQUEST = {"startRow": 0, "endRow": 1000, "sortModel": [], "filterModel": {}}


# ----------------------------------------------------------------------------- helpers
def _login(app: Any, user: str):
    client = app.server.test_client()
    resp = client.post("/login", data={"username": user, "password": f"{user}-demo"})
    assert resp.status_code == 302, resp.data[:200]
    return client


def _deps(app: Any) -> list[dict]:
    """Every server-side callback (clientside ones run in the browser, not on the server)."""
    deps = _login(app, "admin").get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function")]


def _payload(dep: dict, values: dict[str, Any]) -> str:
    def items(specs):
        return [{"id": s["id"], "property": s["property"],
                 "value": values.get(f"{s['id']}.{s['property']}")} for s in specs]

    outs = []
    for out in dep["output"].strip(".").split("..."):
        oid, prop = out.rsplit(".", 1)
        outs.append({"id": oid, "property": prop})
    inputs = items(dep["inputs"])
    return json.dumps({"output": dep["output"], "outputs": outs if len(outs) > 1 else outs[0],
                       "inputs": inputs, "state": items(dep["state"]),
                       "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]})


def _call(client, dep: dict, values: dict[str, Any]):
    return client.post("/_dash-update-component", data=_payload(dep, values),
                       content_type="application/json")


def _props(dep: dict) -> list[str]:
    return [f"{s['id']}.{s['property']}" for s in dep["inputs"] + dep["state"]]


class Facts:
    """Who owns what in the serving warehouse."""

    def __init__(self, db: Path):
        con = duckdb.connect(str(db), read_only=True)
        try:
            self.matters = {m: (c, p) for m, c, p in con.execute(
                "select matter_number, client_code, billing_partner_timekeeper_id "
                "from marts.dim_matters").fetchall()}
            self.invoices = dict(con.execute(
                "select invoice_number, matter_number from marts.fct_invoices").fetchall())
            self.variance = dict(con.execute(
                "select variance_key, matter_number from marts.fct_invoice_sales_variance "
                "where matter_number is not null").fetchall())
            self.offices = [r[0] for r in con.execute(
                "select distinct office from marts.fct_invoices where office is not null "
                "order by 1").fetchall()]
            self.periods = [r[0] for r in con.execute(
                "select distinct invoice_month from marts.fct_invoices order by 1").fetchall()]
        finally:
            con.close()

    def own_matters(self, tk: str) -> set[str]:
        return {m for m, (_, p) in self.matters.items() if p == tk}

    def foreign(self, tk: str) -> dict[str, list[str]]:
        own = self.own_matters(tk)
        own_clients = {self.matters[m][0] for m in own}
        return {
            "matters": sorted(m for m in self.matters if m not in own),
            "clients": sorted({c for c, _ in self.matters.values()} - own_clients),
            "invoices": sorted(i for i, m in self.invoices.items() if m not in own),
            "variance": sorted(k for k, m in self.variance.items() if m not in own),
            "partners": sorted({p for _, p in self.matters.values() if p and p != tk}),
        }

    def leaks(self, tk: str, text: str, sent: str = "") -> list[str]:
        """Foreign matter numbers, client codes and invoice numbers found in ``text``, except
        the ones the caller sent itself (``sent``: an answer may echo its own input, e.g. in
        a breadcrumb); the data of a sent invoice still shows through its matter and client."""
        f = self.foreign(tk)
        found = []
        for kind in ("matters", "clients", "invoices"):
            for token in f[kind]:
                if token in sent:
                    continue
                if re.search(rf"(?<![\w-]){re.escape(token)}(?![\w])", text):
                    found.append(f"{kind[:-1]} {token}")
        return found


@pytest.fixture(scope="module")
def app(serving_db: Path):
    from dashboards.app import create_app

    # not TESTING: an exception in a callback becomes a 500 answer, judged like any other
    return create_app(serving_db=serving_db, users_file=USERS_FILE)


@pytest.fixture(scope="module")
def facts(serving_db: Path) -> Facts:
    return Facts(serving_db)


# ------------------------------------------------------------------------ anonymous
def test_every_route_page_and_callback_refuses_anonymous(app):
    from dashboards.app import PAGE_MODULES
    from dashboards.queries import DATASETS
    from dashboards.shell import PAGE_PATHS

    anon = app.server.test_client()
    targets: list[tuple[str, str, Any]] = []
    samples = {"filename": "x.js", "path": "aging", "name": "invoices",
               "package_name": "dash", "fingerprinted_path": "dash_table/bundle.v1.js"}
    for rule in app.server.url_map.iter_rules():
        if rule.rule.startswith(("/assets/", "/login")):
            continue  # public on purpose: the login page and CSS/fonts
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<[^>]*{arg}>", samples.get(arg, "x"), url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            targets.append((method, url, None))
    targets += [("GET", PAGE_PATHS[p][0], None) for p in PAGE_MODULES]
    targets += [("GET", f"/export/{d}.csv", None) for d in DATASETS]
    targets += [("GET", "/evidence-pack?period_from=2026-07&period_to=2026-07", None),
                ("GET", "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v1.min.js",
                 None)]
    for dep in _deps(app):
        targets.append(("POST", "/_dash-update-component", dep))
    failures = []
    for method, url, dep in targets:
        if dep is not None:
            resp = _call(anon, dep, {})
            what = f"anonymous callback {dep['output'][:60]}"
        else:
            resp = anon.open(url, method=method)
            what = f"anonymous {method} {url}"
        body = resp.get_data()
        refused = (resp.status_code == 401 or (resp.status_code == 302 and resp.headers.get(
            "Location", "").startswith("/login"))) and b"INV" not in body and b"C00" not in body
        tally("attack", SUITE, what, refused, f"HTTP {resp.status_code}")
        if not refused:
            failures.append(f"{what}: HTTP {resp.status_code}")
    assert not failures, failures


# ------------------------------------------------------------------ partner isolation
@pytest.mark.parametrize("user", list(PARTNERS))
def test_partner_cannot_reach_other_partners_data_by_any_input(app, facts: Facts, user):
    tk = PARTNERS[user]
    foreign = facts.foreign(tk)
    assert foreign["matters"] and foreign["invoices"], "the tiny firm needs two partners' data"
    client = _login(app, user)
    other = foreign["partners"][0]
    sent_matter = foreign["matters"][0]
    # a foreign invoice and variance key of another matter, so that showing their data would
    # show a foreign matter number that was not sent
    foreign["invoices"] = [i for i in foreign["invoices"]
                           if facts.invoices[i] != sent_matter] or foreign["invoices"]
    foreign["variance"] = [k for k in foreign["variance"]
                           if facts.variance[k] != sent_matter] or foreign["variance"]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("foreign filters, grid model and drill-down keys", {
            "flt-client.value": foreign["clients"][0] if foreign["clients"] else None,
            "flt-matter.value": foreign["matters"][0], "flt-partner.value": other,
            "flt-office.value": facts.offices[-1] if facts.offices else None,
            "*.getRowsRequest": {**GRID_REQUEST, "filterModel": {
                "billing_partner_timekeeper_id": {"filterType": "text", "type": "equals",
                                                  "filter": other}}},
            "va-key.data": foreign["variance"][0] if foreign["variance"] else None,
            "va-invoice.data": foreign["invoices"][0], "va-month.data": facts.periods[-1],
            "va-invoices.cellClicked": {"value": foreign["invoices"][0],
                                        "colId": "invoice_number", "rowIndex": 0,
                                        "rowId": foreign["invoices"][0]},
            "va-lines.cellClicked": {"value": foreign["invoices"][0],
                                     "colId": "invoice_number", "rowIndex": 0}}),
    ]
    more: list[tuple[str, dict[str, Any]]] = [
        ("foreign client, matter, partner and office in the filters", {
            "flt-client.value": foreign["clients"][0] if foreign["clients"] else None,
            "flt-matter.value": foreign["matters"][0], "flt-partner.value": other,
            "flt-office.value": facts.offices[-1] if facts.offices else None}),
        ("lists of every foreign matter and client", {
            "flt-client.value": foreign["clients"], "flt-matter.value": foreign["matters"],
            "flt-partner.value": foreign["partners"]}),
        ("grid filter model on another partner", {"*.getRowsRequest": {
            **GRID_REQUEST, "filterModel": {"billing_partner_timekeeper_id": {
                "filterType": "text", "type": "equals", "filter": other}}}}),
        ("drill-down stores and clicks with foreign keys", {
            "va-key.data": foreign["variance"][0] if foreign["variance"] else None,
            "va-invoice.data": foreign["invoices"][0], "va-month.data": facts.periods[-1],
            "va-invoices.cellClicked": {"value": foreign["invoices"][0],
                                        "colId": "invoice_number", "rowIndex": 0,
                                        "rowId": foreign["invoices"][0]},
            "va-lines.cellClicked": {"value": foreign["invoices"][0],
                                     "colId": "invoice_number", "rowIndex": 0}}),
    ]
    if TRIALS >= 3:  # each kind of input on its own too
        attempts += more
    failures = []
    for dep in _deps(app):
        props = _props(dep)
        for label, values in attempts:
            vals = {p: values.get(p, values.get("*." + p.split(".", 1)[1],
                                                GRID_REQUEST if p.endswith("getRowsRequest")
                                                else None)) for p in props}
            resp = _call(client, dep, vals)
            text = resp.get_data(as_text=True)
            if resp.status_code == 200 and dep["output"].endswith("-export.href"):
                # the output is a link built from what the partner sent (an echo, not data):
                # follow it and check the download instead
                oid = dep["output"].rsplit(".", 1)[0]
                href = resp.get_json()["response"][oid]["href"]
                followed = client.get(href)
                text = followed.get_data(as_text=True) if followed.status_code == 200 else ""
            leaks = facts.leaks(tk, text, json.dumps(vals)) if resp.status_code == 200 else []
            ok = resp.status_code in (200, 204, 403) and not leaks
            tally("attack", SUITE, f"{user}: {label} -> {dep['output'][:50]}", ok,
                  f"HTTP {resp.status_code}; leaks {leaks[:3]}")
            if not ok:
                failures.append(f"{dep['output'][:60]} / {label}: HTTP {resp.status_code} "
                                f"{leaks[:3]}")
    from dashboards.queries import DATASETS
    for name in DATASETS:
        fc = foreign["clients"][0] if foreign["clients"] else "C9999"
        queries = [f"?client={fc}&matter={foreign['matters'][0]}&partner={other}",
                   (f"?x_matter_number={foreign['matters'][0]}&x_invoice_number="
                    f"{foreign['invoices'][0]}&x_billing_partner_timekeeper_id={other}")]
        if TRIALS >= 3:
            queries += [f"?client={fc}", f"?matter={foreign['matters'][0]}", f"?partner={other}"]
        for qs in queries:
            resp = client.get(f"/export/{name}.csv{qs}")
            text = resp.get_data(as_text=True)
            leaks = facts.leaks(tk, text) if resp.status_code == 200 else []
            ok = resp.status_code in (200, 400, 403) and not leaks
            tally("attack", SUITE, f"{user}: export {name}{qs}", ok,
                  f"HTTP {resp.status_code}; leaks {leaks[:3]}")
            if not ok:
                failures.append(f"export {name}{qs}: HTTP {resp.status_code} {leaks[:3]}")
    assert not failures, failures[:20]


# ------------------------------------------------------------------------ SQL injection
@pytest.mark.parametrize("user", ["finance", "partner.nyc"] if TRIALS >= 5
                         else ["partner.nyc"])
def test_sql_injection_on_every_filter_fails(app, facts: Facts, serving_db: Path, user):
    from dashboards.queries import DATASETS

    before = serving_db.read_bytes()
    client = _login(app, user)
    tk = PARTNERS.get(user)
    failures = []
    # the partner's own filter values are echoed in export links: not a leak
    echo = " ".join(EVIL)

    def judge(what: str, resp, grid_key: str | None = None) -> None:
        text = resp.get_data(as_text=True)
        problems = []
        if resp.status_code >= 500:
            problems.append(f"HTTP {resp.status_code}")
        if SQL_ERRORS.search(text):
            problems.append(f"SQL error text: {SQL_ERRORS.search(text).group(0)}")
        if tk and resp.status_code == 200:
            problems += facts.leaks(tk, text, echo)[:3]
        if grid_key and resp.status_code == 200:
            rows = resp.get_json()["response"][grid_key]["getRowsResponse"]["rowData"]
            if rows:
                problems.append(f"{len(rows)} rows for a filter that matches nothing")
        tally("attack", SUITE, f"{user}: SQL injection {what}", not problems,
              "; ".join(problems) or f"HTTP {resp.status_code}")
        if problems:
            failures.append(f"{what}: {problems}")

    filters = ["flt-client.value", "flt-matter.value", "flt-partner.value", "flt-office.value",
               "flt-period-from.value", "flt-period-to.value"]
    for dep in _deps(app):
        props = _props(dep)
        grid = next((p for p in props if p.endswith(".getRowsRequest")), None)
        fields = [f for f in filters if f in props]
        if not fields:
            continue  # no filter: drill-down clicks are covered by the partner suite
        for evil in EVIL:
            # every filter at once ...
            groups = [fields]
            if grid and TRIALS >= 5:  # ... and each filter of a grid on its own
                groups += [[f] for f in fields]
            for group in groups:
                vals = {p: (GRID_REQUEST if p.endswith("getRowsRequest") else None)
                        for p in props}
                vals.update({f: evil for f in group})
                # a filter on client, matter, partner or office that matches nothing
                empty = grid is not None and any(f in filters[:4] for f in group) and \
                    evil not in ("%", "_")
                judge(f"{'+'.join(g.split('.')[0] for g in group)}={evil!r} -> "
                      f"{dep['output'][:40]}", _call(client, dep, vals),
                      grid.split(".")[0] if empty else None)
            if grid:
                vals = {p: None for p in props}
                vals[grid] = {**GRID_REQUEST,
                              "sortModel": [{"colId": evil, "sort": "asc"}],
                              "filterModel": {"matter_number": {"filterType": "text",
                                                                "type": "equals",
                                                                "filter": evil},
                                              evil: {"filterType": "text", "type": "contains",
                                                     "filter": "x"}}}
                judge(f"grid models {evil!r} -> {dep['output'][:40]}", _call(client, dep, vals),
                      grid.split(".")[0] if evil not in ("%", "_") else None)
    for name in DATASETS:
        for evil in EVIL:
            params = [("client", "matter", "partner", "office", "x_matter_number"),
                      ("period_from", "period_to")]
            if TRIALS >= 5:
                params += [(p,) for p in params[0]]
            for group in params:
                param = "+".join(group)
                resp = client.get(f"/export/{name}.csv", query_string={p: evil for p in group})
                text = resp.get_data(as_text=True)
                problems = []
                if resp.status_code >= 500 or SQL_ERRORS.search(text):
                    problems.append(f"HTTP {resp.status_code} {text[:120]!r}")
                if tk and resp.status_code == 200:
                    problems += facts.leaks(tk, text, echo)[:3]
                rows = max(0, len(text.strip().splitlines()) - 1)
                if resp.status_code == 200 and "period" not in param and evil not in ("%", "_") \
                        and rows:
                    problems.append(f"{rows} rows for a filter that matches nothing")
                tally("attack", SUITE, f"{user}: SQL injection export {name}?{param}={evil!r}",
                      not problems, "; ".join(problems) or f"HTTP {resp.status_code}")
                if problems:
                    failures.append(f"export {name}?{param}={evil!r}: {problems}")
            resp = client.get(f"/export/{name}.csv", query_string={f"x_{evil}": "x"})
            judge(f"export {name} column name x_{evil!r}", resp)
    assert serving_db.read_bytes() == before, "the warehouse changed"
    assert not failures, failures[:20]


# ------------------------------------------------------------------- malformed inputs
def test_malformed_callback_inputs_get_no_server_error(app):
    """Values of the wrong shape where the browser sends a click or a grid request (a
    tampered browser): the server answers without an exception (no 500)."""
    client = _login(app, "finance")
    failures = []
    junk: list[Any] = ["' OR 1=1 --", 7, ["x"], {"rowId": 5}]
    for dep in _deps(app):
        shaped = [p for p in _props(dep) if p.endswith((".cellClicked", ".getRowsRequest",
                                                        ".clickData"))]
        for prop in shaped:
            for value in junk if TRIALS >= 3 else junk[:2]:
                vals = {p: None for p in _props(dep)}
                vals[prop] = value
                resp = _call(client, dep, vals)
                ok = resp.status_code < 500
                tally("attack", SUITE, f"malformed {prop}={value!r}", ok,
                      f"HTTP {resp.status_code}")
                if not ok:
                    failures.append(f"{prop}={value!r}: HTTP {resp.status_code}")
    assert not failures, failures


# ---------------------------------------------------------------------------- CSV cells
def test_no_exported_csv_cell_can_start_a_formula(serving_db: Path, tmp_path):
    """Every text value of every mart is planted with a leading formula character (the same
    prefix on both sides of a join, so joins still match), then every dataset is exported."""
    from dashboards.app import create_app
    from dashboards.queries import DATASETS

    planted = Path(shutil.copy(serving_db, tmp_path / "serving.duckdb"))
    con = duckdb.connect(str(planted))
    try:
        cols = con.execute("select table_schema, table_name, column_name from "
                           "information_schema.columns where data_type = 'VARCHAR' and "
                           "table_schema in ('marts', 'staging', 'intermediate') and "
                           "table_name in (select table_name from information_schema.tables "
                           "where table_type = 'BASE TABLE')").fetchall()
        by_table: dict[tuple[str, str], list[str]] = {}
        for s, t, c in cols:
            by_table.setdefault((s, t), []).append(c)
        payloads = ["=HYPERLINK(\"http://127.0.0.1/x\",\"x\")&", "+cmd|' /C calc'!A0&",
                    "-2+3+", "@SUM(1+1)*", "\t=1+", "\r=1+"]
        for (s, t), names in by_table.items():
            sets = ", ".join(f'"{c}" = ? || "{c}"' for c in names)
            params = [payloads[hash(c) % len(payloads)] for c in names]
            try:
                con.execute(f'update "{s}"."{t}" set {sets}', params)
            except duckdb.Error:
                # a table with constraints on these columns: plant row by row where allowed
                for c, p in zip(names, params, strict=True):
                    try:
                        con.execute(f'update "{s}"."{t}" set "{c}" = ? || "{c}"', [p])
                    except duckdb.Error:
                        pass
    finally:
        con.close()
    app = create_app(serving_db=planted, users_file=USERS_FILE)
    failures = []
    for user in ("admin", "finance"):
        client = _login(app, user)
        for name in DATASETS:
            resp = client.get(f"/export/{name}.csv")
            if resp.status_code == 403:
                continue
            bad = []
            cells = 0
            if resp.status_code != 200:
                bad.append(f"HTTP {resp.status_code}")
            else:
                for row in csv.reader(io.StringIO(resp.get_data(as_text=True), newline="")):
                    for cell in row:
                        cells += 1
                        if cell.startswith(FORMULA) and not NUMBER.match(cell):
                            bad.append(repr(cell[:40]))
            tally("attack", SUITE, f"{user}: formula cells in export {name} ({cells} cells)",
                  not bad, "; ".join(bad[:3]))
            if bad:
                failures.append(f"{user} {name}: {bad[:3]}")
    assert not failures, failures


# ------------------------------------------------------------------------------ secrets
def _scan(paths: list[Path], texts: dict[str, str], needles: dict[str, str]) -> list[str]:
    found = []
    for label, text in texts.items():
        for what, needle in needles.items():
            if needle and needle in text:
                found.append(f"{what} in {label}")
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for f in files:
            data = f.read_bytes()
            for what, needle in needles.items():
                if needle and needle.encode() in data:
                    found.append(f"{what} in {f}")
    return found


def test_secrets_never_appear_in_ingest_output_logs_or_state(baseline: Baseline, tmp_path):
    """``lexrecon ingest --verbose`` against emulators with private credentials (configured
    the production way, through SOURCES__<NAME>__* environment variables), once with the
    right secret and once with a wrong one: no secret and no access token in the output,
    the logs, dlt's working folder or raw.duckdb."""
    from ingestion.emulators import start_all

    secret = f"S3cr3t-{secrets.token_hex(8)}"
    creds = {name: secret for name in ("clio", "ebilling")}
    webhook = f"http://127.0.0.1:9/hook-{secrets.token_hex(8)}"
    failures = []
    with start_all(baseline.firm, use_env=False, unthrottled=True, systems=("clio", "ebilling"),
                   faults={"*": {"token_max_uses": 4}}, client_secret=secret) as emu:
        for label, wrong in (("right secrets", False), ("a wrong secret", True)):
            home = tmp_path / label.replace(" ", "-")
            env = {"LEXRECON_ALERT_WEBHOOK": webhook}
            for name, server in emu.servers.items():
                info = server.info()
                env[f"SOURCES__{name.upper()}__BASE_URL"] = info["base_url"]
                env[f"SOURCES__{name.upper()}__CLIENT_ID"] = info["client_id"]
                env[f"SOURCES__{name.upper()}__CLIENT_SECRET"] = \
                    ("wrong-" + creds[name]) if wrong and name == "clio" else creds[name]
                if "company_id" in info:
                    env[f"SOURCES__{name.upper()}__COMPANY_ID"] = info["company_id"]
            proc = subprocess.run(
                [PYTHON, "-m", "lexrecon", "ingest", "--verbose", "--firm", str(baseline.firm),
                 "--raw-db", str(home / "raw.duckdb"), "--source", "clio", "--source",
                 "ebilling"], cwd=REPO, env=child_env(home, **env), capture_output=True,
                text=True, timeout=600, check=False)
            tokens = {f"access token {i}": t for i, t in enumerate(
                t for s in emu.servers.values() for t in _issued_tokens(s))}
            needles = {**{f"{n} client secret": s for n, s in creds.items()},
                       "wrong clio secret": "wrong-" + creds["clio"], "webhook URL": webhook,
                       **tokens}
            found = _scan([home], {"stdout": proc.stdout, "stderr": proc.stderr}, needles)
            expected_rc = 1 if wrong else 0
            ok = not found and proc.returncode == expected_rc and "Traceback" not in proc.stderr
            if wrong:
                ok = ok and "clio" in proc.stderr and "credentials" in proc.stderr
            tally("attack", SUITE, f"secrets in ingest output/logs/state ({label}, "
                                   f"{len(tokens)} tokens checked)", ok,
                  f"exit {proc.returncode}; found {found[:3]}")
            if not ok:
                failures.append(f"{label}: exit {proc.returncode}, found {found[:5]}, "
                                f"stderr {proc.stderr[-800:]}")
    assert not failures, failures


def _issued_tokens(server: Any) -> list[str]:
    """Every access and refresh token the emulator issued (its token store's keys)."""
    out: list[str] = []
    for attr in ("access", "refresh", "refresh_tokens"):
        value = getattr(server.tokens, attr, None)
        if isinstance(value, (dict, set)):
            out += [str(k) for k in value]
    return out


def test_secrets_never_appear_in_evidence_packs(app, serving_db: Path, tmp_path, monkeypatch):
    """Evidence packs (built directly and downloaded by the auditor) with secrets in the
    environment: none of them, no password hash and no demo password in any file."""
    import zipfile

    from dashboards.auth import load_users
    from reports.evidence import build_pack

    secret_env = {"LEXRECON_SECRET_KEY": secrets.token_hex(16),
                  "SOURCES__CLIO__CLIENT_SECRET": "S3cr3t-clio-" + secrets.token_hex(6),
                  "LEXRECON_ALERT_WEBHOOK": "http://127.0.0.1:9/hook-" + secrets.token_hex(6)}
    for k, v in secret_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LEXRECON_LOGS", str(tmp_path / "logs"))
    needles = {k: v for k, v in secret_env.items()}
    for user in load_users(USERS_FILE).values():
        needles[f"password hash of {user.username}"] = user.password_hash.decode()
        needles[f"password of {user.username}"] = f"{user.username}-demo"
    needles.update({"clio default secret": "clio-secret", "actionstep default secret":
                    "actionstep-secret", "ebilling default secret": "ebilling-secret"})
    period = Facts(serving_db).periods[-1]
    failures = []
    try:
        pack = build_pack(serving_db, period, tmp_path / "pack")
        found = _scan([pack.path, tmp_path / "logs"], {}, needles)
        built = True
    except Exception as exc:  # noqa: BLE001 - a refusal naming a secret is also a leak check
        found, built = [f"pack not built: {type(exc).__name__}: {str(exc)[:200]}"], False
    tally("attack", SUITE, f"secrets in the evidence pack for {period}", built and not found,
          "; ".join(found[:3]))
    if not built or found:
        failures.append(found)
    client = _login(app, "auditor")
    resp = client.get(f"/evidence-pack?period_from={period}&period_to={period}")
    zfound = []
    if resp.status_code == 200:
        with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
            for info in zf.infolist():
                data = zf.read(info)
                zfound += [f"{w} in {info.filename}" for w, n in needles.items()
                           if n.encode() in data]
    ok = resp.status_code == 200 and not zfound
    tally("attack", SUITE, "secrets in the auditor's evidence-pack download", ok,
          f"HTTP {resp.status_code}; {zfound[:3]}")
    if not ok:
        failures.append(f"download: HTTP {resp.status_code} {resp.get_data()[:200]!r} {zfound}")
    assert not failures, failures
