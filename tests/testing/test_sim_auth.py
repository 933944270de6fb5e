"""Authentication: a bad or missing key is a plain-text 401 under a JSON content type."""

from __future__ import annotations

import pytest

from .conftest import Start


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (None, "No API Key Found In Request Headers"),
        ("Bearer wrong", "Incorrect API Key"),
        ("sim-api-key", "Incorrect API Key"),
    ],
)
async def test_bad_key_is_plain_text_401(start: Start, auth: str | None, message: str) -> None:
    sim, api = await start()
    reply = await api.get(f"/api/v1/execution_results/{sim.target_ids[0]}", auth=auth)
    assert reply.status == 401
    assert reply.text == message
    assert reply.headers["Content-Type"].startswith("application/json")
    assert sim.stats.unauthorized == 1


async def test_custom_key_and_simulator_paths_need_no_auth(start: Start) -> None:
    sim, api = await start(api_key="s3cret")
    assert sim.api_key == "s3cret"
    assert "s3cret" not in repr(sim.config)
    assert (await api.run(sim.target_ids[0]))["id"] == sim.target_ids[0]
    reply = await api.get("/_simulator/stats", auth=None)
    assert reply.status == 200
    assert reply.json()["requests"] == 1  # /_simulator is not counted


async def test_a_key_revoked_after_n_requests_gets_401_from_then_on(start: Start) -> None:
    sim, api = await start(revoke_key_after=2)
    target = sim.target_ids[0]
    assert (await api.run(target))["id"] == target
    assert (await api.run(target))["id"] == target
    for _ in range(2):
        reply = await api.get(f"/api/v1/execution_results/{target}")
        assert reply.status == 401
        assert reply.text == "Incorrect API Key"
    assert sim.stats.unauthorized == 2
