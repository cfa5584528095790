"""How the webshop island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from foundation.island import Island
from webshop.settings import WebshopSettings

ISLAND = Island(
    name="webshop",
    package="webshop",
    settings_class=WebshopSettings,
    app_factory="webshop.app:create_app",
    worker_factory="webshop.worker:create_worker_app",
)
