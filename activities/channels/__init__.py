"""Channels that carry notices to people and programs, each an adapter behind one interface
(``Channel``: ``deliver(message, address) -> DeliveryOutcome``).

    smtp.py        e-mail over SMTP (STARTTLS / SSL / a local relay)
    wecom.py       WeCom (企业微信) group robot
    dingtalk.py    DingTalk (钉钉) custom robot, signed (加签)
    feishu.py      Feishu / Lark (飞书) custom bot, signed (签名校验)
    webhook.py     the generic webhook, HMAC-SHA256 signed
    sms_aliyun.py  SMS through Alibaba Cloud SMS (SendSms, RPC signature)
    config.py      the channels a deployment's settings configure

The words come from ``domain.notices.render_notice``; ``RenderedMessage.of`` turns them into
what a channel delivers.
"""

from activities.channels.base import (
    Address,
    Attachment,
    Channel,
    DeliveryOutcome,
    EmailAddress,
    PhoneNumber,
    RenderedMessage,
    RobotWebhook,
)
from activities.channels.config import ConfiguredChannels, configured_channels, http_client

__all__ = [
    "Address",
    "Attachment",
    "Channel",
    "ConfiguredChannels",
    "DeliveryOutcome",
    "EmailAddress",
    "PhoneNumber",
    "RenderedMessage",
    "RobotWebhook",
    "configured_channels",
    "http_client",
]
