"""Settings (environment variables with the ``SHOPREEL_`` prefix) and the region map.

Every plane has its own database URL. Regions are configured by name
(``SHOPREEL_REGIONS=us,intl``); each region's URL comes from ``SHOPREEL_DB_<REGION>``
and defaults to a SQLite file under the data directory.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REGION_NAME = re.compile(r"^[a-z][a-z0-9]{0,15}$")
DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside dev/test

# Which home region a country's residents belong to. Countries not listed map to the
# region configured as the fallback (the last region by default).
DEFAULT_COUNTRY_REGIONS = {"US": "us", "PR": "us", "GU": "us", "VI": "us", "AS": "us", "MP": "us"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPREEL_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("./var")
    regions: str = "us,intl"
    fallback_region: str | None = None
    db_global: str | None = None
    db_control: str | None = None
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool | None = None
    session_idle_minutes: int = Field(default=60 * 24, ge=1)
    session_absolute_hours: int = Field(default=24 * 14, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    ip_max_failures: int = Field(default=30, ge=1)
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # "s3" is accepted so that start-up can say clearly that it is not built yet (media.storage)
    media_backend: Literal["local", "s3"] = "local"
    audit_publish_seconds: float = Field(default=300, ge=0)
    # How long checkout holds reserved stock before the expiry job gives it back (issue #4).
    reservation_ttl_seconds: int = Field(default=600, ge=1, le=24 * 3600)
    log_level: str = "INFO"
    log_json: bool = True
    sql_echo: bool = False
    # Connections each process keeps per plane, and how many more it may open under a burst
    # (closed again when returned: opening and closing is costly, so size the pool for the
    # expected concurrency and keep processes x planes x (size + overflow) under the
    # server's max_connections).
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)

    @field_validator("regions")
    @classmethod
    def _check_regions(cls, value: str) -> str:
        names = [r.strip() for r in value.split(",") if r.strip()]
        if not names:
            raise ValueError("SHOPREEL_REGIONS must name at least one region")
        for name in names:
            if not REGION_NAME.match(name):
                raise ValueError(f"invalid region name {name!r} (lowercase letters and digits)")
        if len(set(names)) != len(names):
            raise ValueError("SHOPREEL_REGIONS lists a region twice")
        return ",".join(names)

    @model_validator(mode="after")
    def _refuse_default_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("SHOPREEL_SECRET_KEY must be set in production")
        if self.fallback_region is not None and self.fallback_region not in self.region_names:
            raise ValueError(f"SHOPREEL_FALLBACK_REGION {self.fallback_region!r} is not a region")
        return self

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(self.regions.split(","))

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def _sqlite(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{name}.db').resolve()}"

    def global_url(self) -> str:
        return self.db_global or self._sqlite("global")

    def control_url(self) -> str:
        return self.db_control or self._sqlite("control")

    def region_url(self, region: str) -> str:
        if region not in self.region_names:
            raise KeyError(f"unknown region {region!r}")
        return os.environ.get(f"SHOPREEL_DB_{region.upper()}") or self._sqlite(f"region-{region}")

    def region_for_country(self, country: str) -> str:
        """Home region of a resident of ``country`` (ISO 3166-1 alpha-2)."""
        mapped = DEFAULT_COUNTRY_REGIONS.get(country.upper())
        if mapped in self.region_names:
            return mapped
        return self.fallback_region or self.region_names[-1]


@cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
