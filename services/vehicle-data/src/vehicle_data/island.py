"""How the vehicle-data island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from foundation.island import Island
from vehicle_data.settings import VehicleDataSettings

ISLAND = Island(
    name="vehicle-data",
    package="vehicle_data",
    settings_class=VehicleDataSettings,
    app_factory="vehicle_data.app:create_app",
    worker_factory="vehicle_data.worker:create_worker_app",
    demo_loader="vehicle_data.demo:load_demo_data",
)
