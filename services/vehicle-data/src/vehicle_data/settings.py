"""Settings of the vehicle-data island (environment prefix ``VEHICLE_DATA_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class VehicleDataSettings(ServiceSettings):
    """Vehicle data settings; every field can be set as ``VEHICLE_DATA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="VEHICLE_DATA_", extra="ignore", frozen=True)
    island: ClassVar[str] = "vehicle-data"

    http_port: int = 8004
    worker_port: int = 9004
    db_url: str = f"{LOCAL_MYSQL}/vehicle_data"
