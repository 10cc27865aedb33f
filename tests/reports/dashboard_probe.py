"""Run in a separate process by test_reports_dashboard: create the dashboard with the report
pages added (collections worklist, pre-bill exceptions, LEDES export), sign in as each user
and call the pages' callbacks the way the browser does. Prints one JSON object:
{username: {callback output: {"status": int, "invoices": [...], "body": str}}}.

A separate process keeps these pages out of the page registry of the dashboard tests' app."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = ("collections_worklist", "prebill_exceptions", "ledes_export")
OUTPUTS = ("cw-summary.children", "pb-summary.children", "lx-selection.children",
           "lx-download.data")


def _payload(dep: dict, values: dict) -> dict:
    def items(specs):
        return [{"id": s["id"], "property": s["property"],
                 "value": values.get(f"{s['id']}.{s['property']}")} for s in specs]

    return {
        "output": dep["output"],
        "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
                    for o in dep["output"].strip(".").split("...")],
        "inputs": items(dep["inputs"]),
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"]],
        "state": items(dep.get("state", [])),
    }


def main(serving_db: str) -> None:
    sys.path.insert(0, str(REPO))
    import dashboards.app as app_module

    app_module.PAGE_MODULES = (*app_module.PAGE_MODULES,
                               *(p for p in PAGES if p not in app_module.PAGE_MODULES))
    app = app_module.create_app(serving_db=serving_db,
                                users_file=REPO / "dashboards" / "users.yml")
    app.server.config["TESTING"] = True
    admin = app.server.test_client()
    admin.post("/login", data={"username": "admin", "password": "admin-demo"})
    deps = admin.get("/_dash-dependencies").get_json()
    values = {"lx-export.n_clicks": 1}
    out: dict[str, dict] = {}
    for user in ("finance", "auditor", "partner.nyc", "admin", None):
        client = app.server.test_client()
        if user:
            resp = client.post("/login", data={"username": user, "password": f"{user}-demo"})
            assert resp.status_code == 302, resp.status_code
        seen = out.setdefault(str(user), {})
        for output in OUTPUTS:
            dep = next(d for d in deps if output in d["output"])
            resp = client.post("/_dash-update-component", json=_payload(dep, values))
            body = resp.get_data(as_text=True)
            seen[output] = {"status": resp.status_code,
                            "invoices": sorted(set(re.findall(r"((?:NY|LN)-1\d{5})", body))),
                            "body": body if resp.status_code == 200 else ""}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
