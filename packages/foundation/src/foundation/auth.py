"""The operator token on an island's operator API (``Authorization: Bearer <token>``)."""

from __future__ import annotations

import secrets

from fastapi import Request

from foundation.errors import ApiError
from foundation.settings import ServiceSettings


async def require_operator(request: Request) -> None:
    """401 unless the request carries the island's operator token (``<PREFIX>OPERATOR_TOKEN``).

    A coroutine, so FastAPI does not run it in its thread pool.
    """
    settings: ServiceSettings = request.app.state.settings
    expected = settings.operator_token.get_secret_value()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "Send the operator token as 'Authorization: Bearer <token>'.")
