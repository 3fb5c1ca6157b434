"""The delivery dispatcher a deployment's settings describe (worker.py and `duban up` run one)."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from activities.channels.config import configured_channels
from activities.deliveries.dispatcher import DeliveryDispatcher
from activities.deliveries.fanout import FanOut
from activities.settings import Settings
from domain.recipients import CHAT_CHANNELS


def delivery_dispatcher(
    settings: Settings, engine: Engine, client: httpx.AsyncClient, time_zone: str
) -> DeliveryDispatcher:
    """The channels of ``settings`` over ``client`` (the caller closes it); the bureau's group
    robots the settings name read every notice to the bureau's people; ``time_zone`` is the
    policy's (quiet hours, instants in the words)."""
    channels = configured_channels(settings, client)
    fan_out = FanOut(
        engine,
        channels=channels.channels,
        groups=[name for name in channels.default_addresses if name in CHAT_CHANNELS],
        public_url=settings.public_url,
        time_zone=time_zone,
        default_language=settings.notice_language,
    )
    return DeliveryDispatcher(
        engine,
        channels,
        fan_out,
        max_attempts=settings.delivery_max_attempts,
        backoff_base_seconds=settings.delivery_backoff_seconds,
        backoff_max_seconds=settings.delivery_backoff_max_seconds,
        lease_seconds=max(3 * settings.channel_timeout_seconds + 30, 60),
    )
