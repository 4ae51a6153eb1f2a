"""The address in every link (issue 16): TELLONCE_BASE_URL when set, else the address `tellonce serve` was
started on; production refuses to start without an https TELLONCE_BASE_URL."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx  # the test client's HTTP library
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.demo import DEMO_PASSWORD
from app.settings import served_url
from tests.app.conftest import World
from tests.app.ops_support import Env, env
from tests.app.test_portal import self_screening

__all__ = ["env"]  # the fixture, imported for the tests below

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120  # imports, migrations and the demo data; slow when the machine is busy
SCREENER = "screener@riverbend.example.org"
LINK = re.compile(r'id="link">([^<]*/go/[^<]+)<')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_youth_link_points_at_the_port_the_server_was_started_on(tmp_path: Path) -> None:
    """Once, every link said http://127.0.0.1:8000 while `scripts/run --port 8101` served on 8101: all dead."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELLONCE_")}  # no TELLONCE_BASE_URL
    environment.update(
        TELLONCE_DATA_DIR=str(tmp_path / "data"),
        TELLONCE_ENVIRONMENT="test",
        TELLONCE_PASSWORD_HASH_TIME_COST="1",  # noqa: S106 (a cost, not a password)
        TELLONCE_PASSWORD_HASH_MEMORY_KIB="1024",  # noqa: S106 (a cost, not a password)
        TELLONCE_DEMO_COHORT_PEOPLE="0",
        TELLONCE_DEMO_CHECKINS="0",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    command = [sys.executable, "-c", "import sys; sys.argv[0] = 'tellonce'; from app.cli import main; main()"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "serve", "--demo", "--port", str(port)],
            cwd=REPO,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    started_at = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=started_at, timeout=30, follow_redirects=False, trust_env=False) as http:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    if http.get("/login").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, f"the server exited:\n{log.read_text(errors='replace')}"
                assert time.monotonic() < deadline, f"no answer in {STARTUP_SECONDS}s:\n{log.read_text()}"
                time.sleep(0.2)
            assert f"TellOnce is running at {started_at}/" in log.read_text(errors="replace")

            token = http.post("/api/v1/auth/token", data={"username": SCREENER, "password": DEMO_PASSWORD})
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            youth = http.post(
                "/api/v1/youth",
                headers=auth,
                json={"given_name": "Port", "family_name": "Test", "birth_date": "2009-05-05", "case_number": "PT-1"},
            ).json()
            screening = http.post(
                "/api/v1/screenings",
                headers=auth,
                json={"youth_id": youth["id"], "instrument_id": "tellonce-youth-self-report", "mode": "self"},
            ).json()
            signed_in = http.post("/login", data={"email": SCREENER, "password": DEMO_PASSWORD, "next": "/"})
            assert signed_in.status_code == 303, signed_in.text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/youth").text)
            assert csrf
            issued = http.post(f"/screenings/{screening['id']}/self/link", data={"csrf_token": csrf.group(1)})
            assert issued.status_code == 200, issued.text
            link = LINK.search(issued.text)
            assert link, issued.text
            assert link.group(1).startswith(f"{started_at}/go/"), link.group(1)

            http.cookies.clear()
            opened = http.get(link.group(1))  # the whole link, as a youth's browser opens it
            assert opened.status_code == 200 and 'name="code"' in opened.text
    finally:
        _stop(process)


def test_the_configured_base_url_wins_over_the_started_address(client: TestClient, world: World, env: Env) -> None:
    env(TELLONCE_BASE_URL=None, TELLONCE_SERVED_URL=served_url("0.0.0.0", 8123))  # noqa: S104 (the mapping)
    screening_id, _auth, csrf = self_screening(client, world)
    assert _issued_link(client, screening_id, csrf).startswith("http://127.0.0.1:8123/go/")

    env(TELLONCE_BASE_URL="https://screen.example.org/")
    assert _issued_link(client, screening_id, csrf).startswith("https://screen.example.org/go/")

    env(TELLONCE_BASE_URL=None, TELLONCE_SERVED_URL=None)  # neither: the default local address
    assert _issued_link(client, screening_id, csrf).startswith("http://127.0.0.1:8000/go/")
    assert served_url("::", 8080) == "http://[::1]:8080"


def _issued_link(client: TestClient, screening_id: str, csrf: str) -> str:
    page = client.post(f"/screenings/{screening_id}/self/link", data={"csrf_token": csrf})
    link = LINK.search(page.text)
    assert page.status_code == 200 and link, page.text
    return link.group(1)


PRODUCTION = {
    "TELLONCE_ENVIRONMENT": "production",
    "TELLONCE_PASSWORD_HASH_TIME_COST": "3",
    "TELLONCE_PASSWORD_HASH_MEMORY_KIB": "65536",
    "TELLONCE_ENCRYPTION_KEYS": f"k1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}",
    "TELLONCE_INDEX_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
}


def test_production_refuses_to_start_without_an_https_base_url(tmp_path: Path, env: Env) -> None:
    data = tmp_path / "prod"
    env(**PRODUCTION, TELLONCE_DATABASE_URL=None, TELLONCE_DATA_DIR=str(data), TELLONCE_BASE_URL=None)
    refused = CliRunner().invoke(cli, ["serve"])
    assert refused.exit_code == 1, refused.output
    assert "TellOnce cannot start" in refused.output and "set TELLONCE_BASE_URL" in refused.output

    env(TELLONCE_BASE_URL="http://screen.example.org")
    refused = CliRunner().invoke(cli, ["serve"])
    assert refused.exit_code == 1 and "must be an https address" in refused.output, refused.output
    assert not data.exists(), "nothing was created for a server that cannot start"
