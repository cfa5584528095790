"""How the erp-middleware island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from foundation.island import Island
from erp_middleware.settings import ERPmiddlewareSettings

ISLAND = Island(
    name="erp-middleware",
    package="erp_middleware",
    settings_class=ERPmiddlewareSettings,
    app_factory="erp_middleware.app:create_app",
    worker_factory="erp_middleware.worker:create_worker_app",
)
