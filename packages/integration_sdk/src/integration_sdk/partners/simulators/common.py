"""What both simulators share: the FastAPI app with health and fault control routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from integration_sdk.partners.simulators.faults import Fault, FaultMiddleware, FaultPlan, fault_routes_payload


def simulator_app(title: str, plan: FaultPlan, *routers: APIRouter) -> FaultMiddleware:
    """A simulator: its routers, ``/health/*`` and ``/_control/faults``, behind the fault middleware."""
    app = FastAPI(title=title)
    control = APIRouter(prefix="/_control", tags=["control"])

    @control.put("/faults")
    async def set_faults(faults: list[Fault], seed: int | None = None) -> dict[str, Any]:
        """Replace the active faults (an empty list clears them)."""
        plan.set(faults, seed)
        return {"faults": len(faults)}

    @control.get("/faults")
    async def faults_fired() -> dict[str, Any]:
        """How often each kind of fault fired."""
        return fault_routes_payload(plan)

    health = APIRouter(prefix="/health", tags=["operations"])

    @health.get("/live")
    async def live() -> dict[str, str]:
        """The simulator serves."""
        return {"status": "alive"}

    @health.get("/ready")
    async def ready() -> dict[str, str]:
        """Always ready: it has no dependencies."""
        return {"status": "ready"}

    for router in (*routers, control, health):
        app.include_router(router)
    app.state.faults = plan
    return FaultMiddleware(app, plan)
