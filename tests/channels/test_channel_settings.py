"""The channels a deployment gets from its settings, and settings that cannot work refused
naming the setting."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from activities.channels import RobotWebhook, configured_channels
from activities.channels.sms_aliyun import AliyunSmsChannel
from activities.channels.smtp import SmtpChannel
from activities.settings import Settings


async def test_without_settings_only_the_address_driven_channels_exist_and_no_defaults():
    async with httpx.AsyncClient() as client:
        configured = configured_channels(Settings(), client)
    assert set(configured.channels) == {"wecom", "dingtalk", "feishu", "webhook"}
    assert configured.default_addresses == {}


async def test_configured_smtp_sms_and_robots_become_channels_and_the_bureau_s_own_groups():
    settings = Settings(
        smtp_host="smtp.example.cn",
        smtp_from_address="duban@yjj.example.cn",
        smtp_password="口令",
        sms_access_key_id="LTAI",
        sms_access_key_secret="s",
        sms_sign_name="某应急管理局",
        sms_template_code="SMS_1",
        dingtalk_robot_url="https://oapi.dingtalk.com/robot/send?access_token=t",
        dingtalk_robot_secret="SECx",
        feishu_robot_url="https://open.feishu.cn/open-apis/bot/v2/hook/t",
        wecom_robot_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        webhook_url="https://hooks.example.cn/duban",
        webhook_secret="w",
    )
    async with httpx.AsyncClient() as client:
        configured = configured_channels(settings, client)
    assert isinstance(configured.channels["email"], SmtpChannel)
    assert isinstance(configured.channels["sms"], AliyunSmsChannel)
    assert configured.default_addresses == {
        "wecom": RobotWebhook("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
        "dingtalk": RobotWebhook("https://oapi.dingtalk.com/robot/send?access_token=t", "SECx"),
        "feishu": RobotWebhook("https://open.feishu.cn/open-apis/bot/v2/hook/t"),
        "webhook": RobotWebhook("https://hooks.example.cn/duban", "w"),
    }
    assert "口令" not in repr(settings) and "SECx" not in repr(settings)  # secrets stay secret


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"smtp_host": "smtp.example.cn"}, "smtp_from_address"),
        ({"smtp_security": "tls"}, "smtp_security"),
        ({"sms_access_key_id": "LTAI", "sms_sign_name": "x"}, "sms_access_key_secret"),
        ({"feishu_robot_url": "open.feishu.cn/hook"}, "feishu_robot_url"),
        ({"public_url": "duban.example.gov.cn"}, "public_url"),
        ({"notice_language": "fr"}, "notice_language"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_setting(values, named):
    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    assert named in str(refused.value)
