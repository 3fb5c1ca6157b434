"""The work-chat robots (WeCom, DingTalk, Feishu) against local receivers that speak each
platform's side: the documented message formats, DingTalk's and Feishu's signatures recomputed
and checked by the receiver, the platforms' error bodies classified as "try again" or "never"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from activities.channels import DeliveryOutcome, EmailAddress, RenderedMessage, RobotWebhook
from activities.channels.dingtalk import DingTalkRobotChannel
from activities.channels.feishu import FeishuBotChannel
from activities.channels.wecom import WeComRobotChannel
from tests.channels import receivers
from tests.channels.receivers import Receiver, closed_port_url

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "d1n9t0k3n"
DING_SECRET = "SEC" + "a" * 64
FEISHU_TOKEN = "954e40d7-1111-4111-8111-649b5e0ba5f9"
FEISHU_SECRET = "UHbDROd4qUZyvTyvwafe"


@pytest.fixture()
def wecom_receiver() -> Iterator[Receiver]:
    r = receivers.wecom(WECOM_KEY)
    yield r
    r.close()


@pytest.fixture()
def ding_receiver() -> Iterator[Receiver]:
    r = receivers.dingtalk(DING_TOKEN, DING_SECRET)
    yield r
    r.close()


@pytest.fixture()
def feishu_receiver() -> Iterator[Receiver]:
    r = receivers.feishu(FEISHU_TOKEN, FEISHU_SECRET)
    yield r
    r.close()


def wecom_address(r: Receiver, key: str = WECOM_KEY) -> RobotWebhook:
    return RobotWebhook(f"{r.base}/cgi-bin/webhook/send?key={key}")


def ding_address(r: Receiver, secret: str | None = DING_SECRET) -> RobotWebhook:
    return RobotWebhook(f"{r.base}/robot/send?access_token={DING_TOKEN}", secret)


def feishu_address(r: Receiver, secret: str | None = FEISHU_SECRET) -> RobotWebhook:
    return RobotWebhook(f"{r.base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}", secret)


def assert_retryable(outcome: DeliveryOutcome, code: str | None = None) -> None:
    assert not outcome.sent and outcome.retryable, outcome
    if code is not None:
        assert outcome.code == code, outcome


def assert_final(outcome: DeliveryOutcome, code: str | None = None) -> None:
    assert not outcome.sent and not outcome.retryable, outcome
    if code is not None:
        assert outcome.code == code, outcome


# ------------------------------------------------------------------------------------- WeCom


async def test_wecom_gets_the_notice_as_markdown_with_the_link(
    client: httpx.AsyncClient, wecom_receiver: Receiver, message: RenderedMessage
):
    outcome = await WeComRobotChannel(client).deliver(message, wecom_address(wecom_receiver))
    assert outcome.sent and outcome.provider_message_id is None
    (request,) = wecom_receiver.received
    body = request.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**【督办】整改通知书") and "2026年12月31日 17:00" in content
    assert f"[查看案件]({message.link})" in content


async def test_wecom_text_is_cut_to_the_platforms_limit_keeping_the_link(
    client: httpx.AsyncClient, wecom_receiver: Receiver, message: RenderedMessage
):
    long = replace(message, text="隐患描述很长。" * 400 + f"\n查看案件：{message.link}")
    outcome = await WeComRobotChannel(client, markdown=False).deliver(
        long, wecom_address(wecom_receiver)
    )
    assert outcome.sent, outcome  # the receiver refuses more than 2048 bytes (errcode 40058)
    content = wecom_receiver.received[0].json()["text"]["content"]
    assert len(content.encode()) <= 2048 and content.endswith(message.link) and "…" in content


async def test_wecom_a_wrong_key_is_final_and_its_rate_limit_is_retried(
    client: httpx.AsyncClient, wecom_receiver: Receiver, message: RenderedMessage
):
    channel = WeComRobotChannel(client)
    assert_final(
        await channel.deliver(message, wecom_address(wecom_receiver, "wrong")), "bad_address"
    )
    wecom_receiver.mode = "rate_limited"
    assert_retryable(await channel.deliver(message, wecom_address(wecom_receiver)), "rate_limited")
    wecom_receiver.mode = "error_500"
    assert_retryable(await channel.deliver(message, wecom_address(wecom_receiver)), "http_500")


# ---------------------------------------------------------------------------------- DingTalk


async def test_dingtalk_signs_the_request_and_the_robot_accepts_it(
    client: httpx.AsyncClient, ding_receiver: Receiver, message: RenderedMessage
):
    outcome = await DingTalkRobotChannel(client).deliver(message, ding_address(ding_receiver))
    assert outcome.sent, outcome
    (request,) = ding_receiver.received
    assert request.query["access_token"] == [DING_TOKEN]
    assert request.query["timestamp"][0].isdigit() and len(request.query["timestamp"][0]) == 13
    body = request.json()
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == message.subject
    assert "整改期限：2026年12月31日 17:00" in body["markdown"]["text"]


async def test_dingtalk_a_wrong_secret_is_refused_and_not_retried(
    client: httpx.AsyncClient, ding_receiver: Receiver, message: RenderedMessage
):
    channel = DingTalkRobotChannel(client)
    outcome = await channel.deliver(message, ding_address(ding_receiver, "SEC-not-the-secret"))
    assert_final(outcome, "signature_refused")
    assert "310000" in outcome.reason
    # A robot secured by signing refuses an unsigned request the same way.
    assert_final(await channel.deliver(message, ding_address(ding_receiver, None)))


async def test_dingtalk_a_signature_an_hour_old_is_refused(
    client: httpx.AsyncClient, ding_receiver: Receiver, message: RenderedMessage
):
    stale = DingTalkRobotChannel(client, clock=lambda: time.time() - 3700)
    assert_final(await stale.deliver(message, ding_address(ding_receiver)), "signature_refused")


async def test_dingtalk_rate_limit_and_server_errors_are_retried(
    client: httpx.AsyncClient, ding_receiver: Receiver, message: RenderedMessage
):
    channel = DingTalkRobotChannel(client, markdown=False)
    ding_receiver.mode = "rate_limited"
    assert_retryable(await channel.deliver(message, ding_address(ding_receiver)), "rate_limited")
    ding_receiver.mode = "error_500"
    assert_retryable(await channel.deliver(message, ding_address(ding_receiver)), "http_500")
    ding_receiver.mode = "normal"
    assert (await channel.deliver(message, ding_address(ding_receiver))).sent
    assert ding_receiver.received[-1].json()["text"]["content"].startswith(message.subject)


# ------------------------------------------------------------------------------------ Feishu


async def test_feishu_signs_the_body_and_sends_rich_text_with_the_link(
    client: httpx.AsyncClient, feishu_receiver: Receiver, message: RenderedMessage
):
    outcome = await FeishuBotChannel(client).deliver(message, feishu_address(feishu_receiver))
    assert outcome.sent, outcome
    body = feishu_receiver.received[0].json()
    assert body["msg_type"] == "post" and len(body["timestamp"]) == 10 and body["sign"]
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == message.subject
    paragraphs = post["content"]
    assert {"tag": "text", "text": "整改期限：2026年12月31日 17:00"} in [p[0] for p in paragraphs]
    assert paragraphs[-1] == [{"tag": "a", "text": "查看案件", "href": message.link}]


async def test_feishu_a_wrong_secret_is_refused_and_not_retried(
    client: httpx.AsyncClient, feishu_receiver: Receiver, message: RenderedMessage
):
    channel = FeishuBotChannel(client)
    outcome = await channel.deliver(message, feishu_address(feishu_receiver, "not-the-secret"))
    assert_final(outcome, "signature_refused")
    assert "19021" in outcome.reason
    wrong_bot = RobotWebhook(f"{feishu_receiver.base}/open-apis/bot/v2/hook/nobody", FEISHU_SECRET)
    assert_final(await channel.deliver(message, wrong_bot), "bad_address")


async def test_feishu_rate_limit_and_server_errors_are_retried(
    client: httpx.AsyncClient, feishu_receiver: Receiver, message: RenderedMessage
):
    channel = FeishuBotChannel(client, rich=False)
    feishu_receiver.mode = "rate_limited"
    assert_retryable(
        await channel.deliver(message, feishu_address(feishu_receiver)), "rate_limited"
    )
    feishu_receiver.mode = "error_500"
    assert_retryable(await channel.deliver(message, feishu_address(feishu_receiver)), "http_500")


# ------------------------------------------------------------------------------- all robots


@pytest.mark.parametrize(
    "channel_type", [WeComRobotChannel, DingTalkRobotChannel, FeishuBotChannel]
)
async def test_a_robot_that_is_down_is_retried_later(
    client: httpx.AsyncClient, message: RenderedMessage, channel_type: type
):
    outcome = await channel_type(client).deliver(message, RobotWebhook(closed_port_url("/hook")))
    assert_retryable(outcome, "network")


@pytest.mark.parametrize(
    "channel_type", [WeComRobotChannel, DingTalkRobotChannel, FeishuBotChannel]
)
async def test_a_robot_url_that_can_never_work_and_a_wrong_kind_of_address_are_final(
    client: httpx.AsyncClient, message: RenderedMessage, channel_type: type
):
    channel = channel_type(client)
    assert_final(
        await channel.deliver(message, RobotWebhook("ftp://robot.example/x")), "bad_address"
    )
    assert_final(await channel.deliver(message, RobotWebhook("http://[::1")), "bad_address")
    assert_final(await channel.deliver(message, EmailAddress("a@b.cn")), "bad_address")
