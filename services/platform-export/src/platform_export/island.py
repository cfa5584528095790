"""How the platform-export island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from foundation.island import Island
from platform_export.settings import PlatformExportSettings

ISLAND = Island(
    name="platform-export",
    package="platform_export",
    settings_class=PlatformExportSettings,
    app_factory="platform_export.app:create_app",
    worker_factory="platform_export.worker:create_worker_app",
    demo_loader="platform_export.demo:load_demo_data",
)
