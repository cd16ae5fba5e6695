"""``fleet serve`` with a user's catalog named by configuration: the cart example over HTTP.

The daemon is a real subprocess started outside the repository, told where the
catalog is by ``FLEET_STORE_CATALOG`` and ``PYTHONPATH`` only, on SQLite and
PostgreSQL; the client and the command line talk to it over real HTTP.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from examples.cart.catalog import CATALOG as CART_CATALOG
from examples.cart.catalog import CartOpened, ItemAdded
from fleet.cli import main
from fleet.client import FleetClient
from fleet.events import JsonPayload
from tests.server.conftest import clean_environment, start_daemon

ROOT = Path(__file__).resolve().parents[2]
CART = {"FLEET_STORE_CATALOG": "examples.cart.catalog:CATALOG", "PYTHONPATH": str(ROOT)}


def _problems(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(p["path"], p["message"]) for p in response.json()["error"]["problems"]]


@pytest.mark.trio
async def test_a_daemon_serves_the_catalog_its_configuration_names(
    database_url: str, tmp_path: Path
) -> None:
    daemon = start_daemon(tmp_path, "--database-url", database_url, env=CART)
    try:
        async with httpx.AsyncClient(base_url=daemon.url) as http:
            opened = {"type": "CartOpened", "data": {"customer": "ada"}}
            added = {
                "type": "ItemAdded",
                "data": {"sku": "tea", "quantity": 2, "unit_price_cents": 450},
            }
            done = await http.post(
                "/streams/cart-7f3a/events",
                json={"expected_version": "no_stream", "events": [opened, added]},
            )
            assert done.status_code == 200, done.text
            assert done.json()["last_version"] == 2
            audit = await http.post(
                "/streams/audit-web/events",
                json={
                    "events": [{"type": "Checkout.Seen", "data": {"cart": "cart-7f3a", "n": [1]}}]
                },
            )
            assert audit.status_code == 200, audit.text
            checkout = {"type": "CartCheckedOut", "data": {"total_cents": 900}}
            assert (
                await http.post("/streams/cart-7f3a/events", json={"events": [checkout]})
            ).status_code == 200
            again = await http.post("/streams/cart-7f3a/events", json={"events": [added]})
            assert again.status_code == 422
            assert again.json()["error"]["code"] == "invalid_transition"

            assert _problems(
                await http.post("/streams/order-1/events", json={"events": [opened]})
            ) == [
                (
                    "stream_id",
                    "invalid stream id 'order-1': no stream category 'order' "
                    "(the catalog has: audit, cart)",
                )
            ]
            wrong = await http.post(
                "/streams/cart-1/events",
                json={"events": [{"type": "MissionCreated", "data": {"title": "t"}}]},
            )
            assert _problems(wrong)[0][0] == "events[0].type"
            assert "MissionCreated" in _problems(wrong)[0][1]
            typed = await http.post(
                "/streams/cart-1/events",
                json={"events": [{"type": "CartOpened", "data": {"customer": 7}}]},
            )
            assert _problems(typed) == [("events[0].data.customer", "Expected `str`, got `int`")]
            untyped = await http.post(
                "/streams/audit-web/events", json={"events": [{"type": "Seen", "data": [1, 2]}]}
            )
            assert _problems(untyped) == [("events[0].data", "expected a JSON object")]

            page = (await http.get("/streams/cart-7f3a")).json()
            assert [e["type"] for e in page["events"]] == [
                "CartOpened",
                "ItemAdded",
                "CartCheckedOut",
            ]
            assert page["events"][1]["data"] == {
                "type": "ItemAdded",
                "sku": "tea",
                "quantity": 2,
                "unit_price_cents": 450,
            }
            logged = (await http.get("/events", params={"stream_prefix": "audit"})).json()
            assert [e["data"] for e in logged["events"]] == [{"cart": "cart-7f3a", "n": [1]}]

            document = (await http.get("/openapi.json")).json()
            schemas = document["components"]["schemas"]
            assert {"CartOpened", "ItemAdded", "CartCheckedOut"} <= set(schemas)
            assert "MissionCreated" not in schemas
            assert (await http.get("/missions")).status_code == 404

        async with FleetClient(daemon.url, catalog=CART_CATALOG) as client:
            result = await client.append("cart-b2", [CartOpened(customer="bob")])
            assert result.last_version == 1
            await client.append("audit-web", [JsonPayload("Seen", {"by": "client"})])
            events = (await client.read_stream("cart-b2")).events
            assert events[0].payload == CartOpened(customer="bob")
            log = (await client.read_all(0, 100)).events
            assert log[-1].payload == JsonPayload("Seen", {"by": "client"})
            assert isinstance(log[1].payload, ItemAdded)
        async with FleetClient(daemon.url, catalog=CART["FLEET_STORE_CATALOG"]) as named:
            assert named.catalog is CART_CATALOG
            assert (await named.read_stream("cart-b2")).events[0].payload == CartOpened("bob")
    finally:
        daemon.stop()
        daemon.finish()


def test_the_command_line_appends_and_reads_a_user_catalog_through_the_daemon(
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    daemon = start_daemon(tmp_path, "--database-url", sqlite_url, env=CART)
    monkeypatch.setenv("FLEET_STORE_CATALOG", CART["FLEET_STORE_CATALOG"])
    monkeypatch.chdir(tmp_path)

    def fleet(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    try:
        opened = '{"type": "CartOpened", "data": {"customer": "cy"}}'
        assert fleet("append", "cart-cli", opened, "--url", daemon.url)[0] == 0
        logged = '{"type": "Seen", "data": {"k": 1}}'
        assert fleet("append", "audit-cli", logged, "--url", daemon.url)[0] == 0
        code, _, err = fleet(
            "append", "cart-cli", '{"type": "Seen", "data": {}}', "--url", daemon.url
        )
        assert code == 1
        assert "unknown event type 'Seen'" in err
        code, out, err = fleet("read", "--url", daemon.url)
        assert code == 0, err
        assert "CartOpened" in out
        assert '{"k":1}' in out
        code, out, err = fleet("read", "audit-cli", "--database-url", sqlite_url, "--json")
        assert code == 0, err
        assert '"data":{"k":1}' in out
    finally:
        daemon.stop()
        daemon.finish()


def test_the_cart_example_runs_in_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.cart", f"sqlite:///{tmp_path / 'cart.db'}"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refused: CartCheckedOut")
    assert lines[1].endswith("checked_out, 3 items, 21.00")
    assert [line.split()[2] for line in lines[2:]] == [
        "CartOpened",
        "ItemAdded",
        "ItemAdded",
        "CartCheckedOut",
        "CheckoutSeen",
    ]
