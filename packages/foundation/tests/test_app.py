"""The operational surface every island gets from the app factory, against the real services."""

from __future__ import annotations

import gc
import json
import logging

import pytest
from fastapi import APIRouter

from foundation.app import create_app
from foundation.settings import ServiceSettings
from integration_sdk.broker import BrokerResource
from integration_sdk.testing import serve, wait_until_ready

probe = APIRouter()
log = logging.getLogger("probe")


@probe.get("/items/{item_id}")
async def item(item_id: int, limit: int = 10) -> dict[str, int]:
    """A parametrised route: metrics must label it by template."""
    log.info("item %s requested", item_id)
    return {"item_id": item_id, "limit": limit}


def build(settings: ServiceSettings):
    from foundation.app import default_resources

    return create_app(
        settings, title="probe", routers=[probe], resources=[*default_resources(settings), BrokerResource(settings)]
    )


@pytest.fixture
def settings(migrated_islands: dict[str, ServiceSettings]) -> ServiceSettings:
    return migrated_islands["webshop"].model_copy(update={"tenants": ["acme", "globex"], "log_json": True})


async def test_ready_when_database_broker_and_redis_answer(settings: ServiceSettings) -> None:
    async with serve(build(settings)) as client:
        response = await wait_until_ready(client)
        live = await client.get("/health/live")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}
    assert live.json() == {"status": "alive", "island": "webshop"}


async def test_startup_objects_are_frozen_out_of_the_garbage_collectors_passes(settings: ServiceSettings) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with serve(build(settings)) as client:
        await wait_until_ready(client)
        assert gc.get_freeze_count() > 10_000  # the app, its routes and resources, and every module loaded


async def test_ready_names_each_dependency_that_is_down(settings: ServiceSettings) -> None:
    broken = settings.model_copy(
        update={
            "redis_url": "redis://127.0.0.1:1/0",
            "amqp_url": "amqp://guest:guest@127.0.0.1:1/",
            "readiness_timeout_s": 1.0,
        }
    )
    async with serve(build(broken)) as client:
        response = await client.get("/health/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["broker", "redis"]
    assert body["checks"]["database"] == "ok"
    assert "127.0.0.1:1" in body["checks"]["broker"]


async def test_ready_names_the_database_when_its_schema_is_missing(settings: ServiceSettings) -> None:
    missing = settings.model_copy(update={"db_url": settings.db_server_url + "no_such_schema_anywhere"})
    async with serve(build(missing)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert "database" in response.json()["down"]
    assert "no_such_schema_anywhere" in response.json()["checks"]["database"]


async def test_metrics_label_route_template_and_bounded_tenant(settings: ServiceSettings) -> None:
    async with serve(build(settings)) as client:
        await client.get("/items/42", headers={"X-Tenant": "acme"})
        await client.get("/items/43", headers={"X-Tenant": "not-configured-tenant"})
        await client.get("/nothing/here")
        metrics = (await client.get("/metrics")).text
    assert 'route="/items/{item_id}"' in metrics
    assert 'tenant="acme"' in metrics
    assert 'tenant="other"' in metrics
    assert "not-configured-tenant" not in metrics
    assert "/items/42" not in metrics
    assert 'route="<unmatched>"' in metrics
    assert "http_request_duration_seconds_bucket" in metrics


async def test_correlation_id_is_echoed_and_logged(
    settings: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(build(settings)) as client:
        given = await client.get("/items/7", headers={"X-Correlation-ID": "order-flow-123"})
        generated = await client.get("/items/8")
    assert given.headers["X-Correlation-ID"] == "order-flow-123"
    assert len(generated.headers["X-Correlation-ID"]) >= 32
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    item_logs = [r for r in records if r["message"] == "item 7 requested"]
    assert item_logs, records
    assert item_logs[0]["correlation_id"] == "order-flow-123"
    assert item_logs[0]["island"] == "webshop"


async def test_validation_errors_name_field_and_value(settings: ServiceSettings) -> None:
    async with serve(build(settings)) as client:
        response = await client.get("/items/abc", params={"limit": "many"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    problems = {d["field"]: d["value"] for d in error["details"]}
    assert problems == {"item_id": "abc", "limit": "many"}


async def test_openapi_docs_are_served(settings: ServiceSettings) -> None:
    async with serve(build(settings)) as client:
        schema = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert "/items/{item_id}" in schema["paths"]
    assert schema["paths"]["/health/ready"]["get"]["summary"]
    assert docs.status_code == 200
