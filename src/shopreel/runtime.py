"""Long-lived objects of one running app: settings, databases, keys, counters, templates."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.templating import Jinja2Templates

from shopreel.config import Settings
from shopreel.kit.mail import FileOutbox, Mailer
from shopreel.kit.ratelimit import FailureCounter, MemoryFailureCounter, RedisFailureCounter
from shopreel.observability import Metrics
from shopreel.planes import Databases
from shopreel.sovereignty.crypto import FieldCipher
from shopreel.sovereignty.keys import KeyProvider, LocalKeyProvider
from shopreel.web.templating import build_templates


@dataclass
class Runtime:
    settings: Settings
    databases: Databases
    keys: KeyProvider
    failures: FailureCounter
    mailer: Mailer
    metrics: Metrics = field(default_factory=Metrics)
    templates: Jinja2Templates = field(default_factory=build_templates)
    _ciphers: dict[str, FieldCipher] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        failures: FailureCounter
        if settings.redis_url:
            failures = RedisFailureCounter(settings.redis_url)
        else:
            failures = MemoryFailureCounter()
        return cls(
            settings=settings,
            databases=Databases(settings),
            keys=LocalKeyProvider(settings.key_dir),
            failures=failures,
            mailer=FileOutbox(settings.data_dir / "outbox"),
        )

    def cipher(self, region: str) -> FieldCipher:
        """The field cipher of ``region``: only that region's key can open its data."""
        cipher = self._ciphers.get(region)
        if cipher is None:
            if region not in self.settings.region_names:
                raise KeyError(f"unknown region {region!r}")
            cipher = FieldCipher(self.keys, region)
            self._ciphers[region] = cipher
        return cipher

    async def close(self) -> None:
        await self.failures.close()
        await self.databases.dispose()
