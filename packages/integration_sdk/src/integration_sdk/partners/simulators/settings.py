"""Where the simulators listen (environment prefix ``PARTNER_SIM_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SimulatorSettings(BaseSettings):
    """Hosts, ports and behaviour of the simulators; every field can be set as ``PARTNER_SIM_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="PARTNER_SIM_", extra="ignore", frozen=True)

    erp_host: str = "127.0.0.1"
    erp_port: int = 8910
    platforms_host: str = "127.0.0.1"
    platforms_port: int = 8900
    # How the islands reach the platform simulator (written into generated platform configs).
    platforms_public_url: str | None = None
    # The simulated ERP ships an accepted order after this many seconds (negative: never by itself).
    erp_ship_after_s: float = 2.0
    seed: int = 42

    @property
    def platforms_url(self) -> str:
        """Base URL of the platform simulator as the islands see it."""
        return self.platforms_public_url or f"http://{self.platforms_host}:{self.platforms_port}"
