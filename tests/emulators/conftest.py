from __future__ import annotations

from pathlib import Path

import pytest
import requests

from ingestion.emulators import ActionstepEmulator, ClioEmulator, EbillingEmulator

from .firm_fixture import write_firm


@pytest.fixture(scope="session")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_firm(tmp_path_factory.mktemp("firm"))


def get_token(server, session: requests.Session | None = None, grant: dict | None = None) -> dict:
    s = session or requests
    r = s.post(server.token_url, data={"grant_type": "client_credentials",
                                       "client_id": server.client_id,
                                       "client_secret": server.client_secret, **(grant or {})},
               timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def authed(server) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + get_token(server)["access_token"]
    if isinstance(server, EbillingEmulator):
        s.headers["Company-ID"] = server.company_id
    return s


@pytest.fixture()
def clio(firm: Path):
    with ClioEmulator(firm / "clio", use_env=False) as server:
        yield server


@pytest.fixture()
def actionstep(firm: Path):
    with ActionstepEmulator(firm / "actionstep", use_env=False) as server:
        yield server


@pytest.fixture()
def ebilling(firm: Path):
    with EbillingEmulator(firm / "ebilling", use_env=False) as server:
        yield server
