"""Fixtures for dashboard tests: a serving warehouse, the app, logged-in clients, callbacks."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
USERS_FILE = REPO / "dashboards" / "users.yml"
ROLES_USERS = {
    "finance": "finance", "analyst": "analyst", "auditor": "auditor", "admin": "admin",
    "partner": "partner.nyc",
}
PASSWORD = "{}-demo"


# Which warehouse the session runs on, and why (shown by test_dashboard_warehouse.py).
WAREHOUSE_SOURCE: dict[str, str] = {}


@pytest.fixture(scope="session")
def serving_db(request, tmp_path_factory) -> Path:
    """The published warehouse the dashboard tests run on: the tiny demo firm taken down the
    real path once per test run (``tiny_pipeline`` in tests/conftest.py: generator -> emulators
    + `lexrecon ingest` -> ``lexrecon.warehouse.build`` -> ``publish``). Read only; tests that
    change it work on a copy. ``LEXRECON_TEST_SERVING_DB=<a published serving.duckdb>`` uses
    that file instead (copied, with its sidecar files)."""
    given = os.environ.get("LEXRECON_TEST_SERVING_DB")
    if given:
        WAREHOUSE_SOURCE.update(kind="given", detail=given)
        tmp = tmp_path_factory.mktemp("serving")
        for suffix in (".run_results.json", ".build.json"):  # what `publish` puts beside it
            if Path(given + suffix).is_file():
                shutil.copy(given + suffix, tmp / ("serving.duckdb" + suffix))
        return Path(shutil.copy(given, tmp / "serving.duckdb"))
    tiny = request.getfixturevalue("tiny_pipeline")
    if tiny.published:
        WAREHOUSE_SOURCE.update(kind="real", detail="tiny firm, green build, published")
        return tiny.serving_db
    # Not green, so not published: the dashboard tests read the build file itself (the same
    # warehouse); the failing dbt nodes are named here and by the warehouse tests.
    WAREHOUSE_SOURCE.update(kind="real-unpublished",
                            detail=f"tiny firm built but not green: {tiny.result.failures[:5]}")
    return tiny.build_db


@pytest.fixture(scope="session")
def warehouse_source(serving_db) -> dict[str, str]:
    return dict(WAREHOUSE_SOURCE)


@dataclass(frozen=True)
class Facts:
    """Values picked from the test warehouse, so tests do not hard-code its contents."""

    periods: list[str]
    own_clients: dict[str, set[str]]
    own_matters: dict[str, set[str]]
    foreign_clients: dict[str, list[str]]
    foreign_matters: dict[str, list[str]]
    invoiced_clients: list[str]


@pytest.fixture(scope="session")
def facts(serving_db) -> Facts:
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        periods = [r[0] for r in con.execute(
            "select distinct invoice_month from marts.fct_invoices where not is_void "
            "order by 1").fetchall()]
        matters = con.execute("select matter_number, client_code, billing_partner_timekeeper_id "
                              "from marts.dim_matters").fetchall()
        invoiced = [r[0] for r in con.execute(
            "select client_code from marts.fct_invoices group by 1 having count(*) >= 2 "
            "order by 1").fetchall()]
    finally:
        con.close()
    own_c: dict[str, set[str]] = {}
    own_m: dict[str, set[str]] = {}
    for m, c, p in matters:
        own_c.setdefault(p, set()).add(c)
        own_m.setdefault(p, set()).add(m)
    foreign_c = {p: sorted({c for _, c, q in matters if q != p} - own_c[p]) for p in own_c}
    foreign_m = {p: sorted({m for m, _, q in matters if q != p}) for p in own_c}
    return Facts(periods, own_c, own_m, foreign_c, foreign_m, invoiced)


@pytest.fixture(scope="session")
def app(serving_db):
    from dashboards.app import create_app

    app = create_app(serving_db=serving_db, users_file=USERS_FILE)
    app.server.config["TESTING"] = True
    return app


def login(app, username: str, password: str | None = None):
    client = app.server.test_client()
    resp = client.post("/login", data={"username": username,
                                        "password": password or PASSWORD.format(username)})
    assert resp.status_code == 302, resp.data[:300]
    return client


@pytest.fixture(scope="session")
def clients(app):
    """One logged-in test client per demo user."""
    users = ["finance", "analyst", "auditor", "admin", "partner.nyc", "partner.ldn"]
    return {u: login(app, u) for u in users}


class Callbacks:
    """Call a Dash callback through ``/_dash-update-component`` the way the browser does."""

    def __init__(self, app):
        client = app.server.test_client()
        # Read the dependency graph once with a logged-in client.
        c = login(app, "admin")
        self.deps = c.get("/_dash-dependencies").get_json()
        del client

    def find(self, output_id: str, output_prop: str | None = None) -> dict:
        for dep in self.deps:
            outs = dep["output"].strip(".").split("...")
            for out in outs:
                oid, prop = out.rsplit(".", 1)
                if oid == output_id and (output_prop is None or prop == output_prop):
                    return dep
        raise KeyError(f"no callback outputs {output_id}.{output_prop}")

    def payload(self, dep: dict, values: dict[str, object]) -> dict:
        def items(specs):
            return [{"id": s["id"], "property": s["property"],
                     "value": values.get(f"{s['id']}.{s['property']}")} for s in specs]

        outputs = []
        for out in dep["output"].strip(".").split("..."):
            oid, prop = out.rsplit(".", 1)
            outputs.append({"id": oid, "property": prop})
        inputs = items(dep["inputs"])
        return {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "state": items(dep["state"]),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        }

    def call(self, client, output_id: str, values: dict[str, object] | None = None,
             output_prop: str | None = None):
        dep = self.find(output_id, output_prop)
        body = json.dumps(self.payload(dep, values or {}))
        return client.post("/_dash-update-component", data=body,
                           content_type="application/json")


@pytest.fixture(scope="session")
def callbacks(app) -> Callbacks:
    return Callbacks(app)


def response_props(resp) -> dict:
    """{component id: {property: value}} from a callback response."""
    assert resp.status_code == 200, (resp.status_code, resp.data[:500])
    return resp.get_json()["response"]
