"""How the erp-middleware island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from erp_middleware.settings import ErpMiddlewareSettings
from foundation.island import Island

ISLAND = Island(
    name="erp-middleware",
    package="erp_middleware",
    settings_class=ErpMiddlewareSettings,
    app_factory="erp_middleware.app:create_app",
    worker_factory="erp_middleware.worker:create_worker_app",
    demo_loader="erp_middleware.demo:load_demo_data",
)
