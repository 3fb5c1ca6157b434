"""The channels a deployment has, built from its settings (``DUBAN_*``).

Robots and the webhook need nothing but an address, so they always exist; the address comes
with the recipient (a grid unit's group robot) or, for the bureau's own groups, from the
settings (``default_addresses``). E-mail exists when an SMTP server is configured, SMS when
the provider's keys, signature and template are. Nothing here opens a connection: the caller
owns the HTTP client and closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import httpx
from pydantic import SecretStr

from activities.channels.base import Address, Channel, RobotWebhook
from activities.channels.dingtalk import DingTalkRobotChannel
from activities.channels.feishu import FeishuBotChannel
from activities.channels.sms_aliyun import AliyunSmsChannel
from activities.channels.smtp import Security, SmtpChannel, SmtpConfig
from activities.channels.webhook import SignedWebhookChannel
from activities.channels.wecom import WeComRobotChannel
from activities.settings import Settings


@dataclass
class ConfiguredChannels:
    channels: dict[str, Channel] = field(default_factory=dict)
    # The bureau's own groups and program, per channel name, when the settings name them.
    default_addresses: dict[str, Address] = field(default_factory=dict)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One client for every HTTP channel (connections reused); redirects are not followed, a
    robot URL that redirects is a wrong URL."""
    return httpx.AsyncClient(timeout=settings.channel_timeout_seconds, follow_redirects=False)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def configured_channels(settings: Settings, client: httpx.AsyncClient) -> ConfiguredChannels:
    configured = ConfiguredChannels(
        channels={
            "wecom": WeComRobotChannel(client),
            "dingtalk": DingTalkRobotChannel(client),
            "feishu": FeishuBotChannel(client),
            "webhook": SignedWebhookChannel(client),
        }
    )
    robots = {
        "wecom": (settings.wecom_robot_url, None),
        "dingtalk": (settings.dingtalk_robot_url, settings.dingtalk_robot_secret),
        "feishu": (settings.feishu_robot_url, settings.feishu_robot_secret),
    }
    for name, (url, secret) in robots.items():
        if url is not None:
            configured.default_addresses[name] = RobotWebhook(
                url.get_secret_value(), _secret(secret)
            )
    if settings.webhook_url:
        configured.default_addresses["webhook"] = RobotWebhook(
            settings.webhook_url, _secret(settings.webhook_secret)
        )
    if settings.smtp_host and settings.smtp_from_address:
        configured.channels["email"] = SmtpChannel(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=cast(Security, settings.smtp_security),  # the setting's pattern
                username=settings.smtp_username,
                password=_secret(settings.smtp_password),
                from_address=settings.smtp_from_address,
                from_name=settings.smtp_from_name,
                timeout=settings.smtp_timeout_seconds,
                ca_file=settings.smtp_ca_file,
            )
        )
    key_secret = _secret(settings.sms_access_key_secret)
    if (
        settings.sms_access_key_id
        and key_secret
        and settings.sms_sign_name
        and settings.sms_template_code
    ):
        configured.channels["sms"] = AliyunSmsChannel(
            client,
            access_key_id=settings.sms_access_key_id,
            access_key_secret=key_secret,
            sign_name=settings.sms_sign_name,
            template_code=settings.sms_template_code,
            template_param=settings.sms_template_param,
            endpoint=settings.sms_endpoint,
            region_id=settings.sms_region_id,
        )
    return configured
