"""The console's settings, taken once from ``Settings`` (``DUBAN_CONSOLE_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from activities.settings import Settings


@dataclass(frozen=True)
class ConsoleConfig:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    tls_proxy: bool = False
    account_failures: int = 5
    account_lock: timedelta = timedelta(minutes=15)
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=15)

    @staticmethod
    def of(settings: Settings | None) -> ConsoleConfig:
        if settings is None:
            return ConsoleConfig()
        return ConsoleConfig(
            idle=timedelta(minutes=settings.console_idle_minutes),
            absolute=timedelta(hours=settings.console_absolute_hours),
            tls_proxy=settings.console_tls_proxy,
            account_failures=settings.console_account_failures,
            account_lock=timedelta(minutes=settings.console_account_lock_minutes),
            address_failures=settings.console_address_failures,
            address_window=timedelta(minutes=settings.console_address_window_minutes),
        )
