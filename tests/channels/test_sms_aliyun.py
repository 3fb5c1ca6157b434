"""SMS through Alibaba Cloud's SendSms: the RPC signature matches Alibaba Cloud's documented
example exactly, and a local dysmsapi receiver recomputes it from each request it gets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest

from activities.channels import EmailAddress, PhoneNumber, RenderedMessage
from activities.channels.sms_aliyun import (
    AliyunSmsChannel,
    canonicalised_query,
    rpc_signature,
    string_to_sign,
)
from tests.channels import receivers
from tests.channels.receivers import Receiver, closed_port_url

KEY_ID = "LTAI5tTestKeyId"
KEY_SECRET = "testSecretForDuban"

# Alibaba Cloud's documented SendSms signature example (SMS 签名机制): its parameters, its
# string to sign and its signature for AccessKeySecret "testSecret".
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF"
    "%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce"
    "%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_signature_is_alibaba_clouds_documented_example():
    assert string_to_sign("GET", DOC_PARAMS) == DOC_STRING_TO_SIGN
    assert rpc_signature("GET", DOC_PARAMS, "testSecret") == DOC_SIGNATURE
    # The canonical query encodes a space as %20 and * as %2A, never + or a bare *.
    assert canonicalised_query({"a": "x y*~"}) == "a=x%20y%2A~"


@pytest.fixture()
def provider() -> Iterator[Receiver]:
    r = receivers.aliyun_sms(KEY_ID, KEY_SECRET)
    yield r
    r.close()


def sms(client: httpx.AsyncClient, endpoint: str, secret: str = KEY_SECRET) -> AliyunSmsChannel:
    return AliyunSmsChannel(
        client,
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name="诸城市应急管理局",
        template_code="SMS_471230001",
        endpoint=endpoint,
    )


async def test_a_text_message_is_sent_and_the_provider_s_id_kept(
    client: httpx.AsyncClient, provider: Receiver, message: RenderedMessage
):
    channel = sms(client, f"{provider.base}/")
    outcome = await channel.deliver(message, PhoneNumber("+86 138-0013-8000"))
    assert outcome.sent and outcome.provider_message_id == "9006197469364984001"
    form = dict(pair.split("=", 1) for pair in provider.received[0].body.decode().split("&"))
    assert form["PhoneNumbers"] == "13800138000" and form["Action"] == "SendSms"
    param = json.loads(unquote(form["TemplateParam"]))
    assert param == {"subject": message.subject[:35]} and param["subject"].startswith("【督办】")
    assert unquote(form["SignName"]) == "诸城市应急管理局"
    # A second message is a new request: a fresh nonce, accepted again.
    assert (await channel.deliver(message, PhoneNumber("13800138000"))).sent


async def test_a_wrong_secret_is_refused_by_the_signature_check_and_not_retried(
    client: httpx.AsyncClient, provider: Receiver, message: RenderedMessage
):
    outcome = await sms(client, f"{provider.base}/", "not-the-secret").deliver(
        message, PhoneNumber("13800138000")
    )
    assert not outcome.sent and not outcome.retryable and outcome.code == "signature_refused"
    assert "SignatureDoesNotMatch" in outcome.reason


async def test_a_number_the_provider_refuses_or_no_number_at_all_is_final(
    client: httpx.AsyncClient, provider: Receiver, message: RenderedMessage
):
    channel = sms(client, f"{provider.base}/")
    refused = await channel.deliver(message, PhoneNumber("+4412345678"))
    assert not refused.sent and not refused.retryable and refused.code == "bad_address"
    assert "isv.MOBILE_NUMBER_ILLEGAL" in refused.reason
    not_a_number = await channel.deliver(message, PhoneNumber("网格员 郑"))
    assert not not_a_number.retryable and not_a_number.code == "bad_address"
    wrong_kind = await channel.deliver(message, EmailAddress("a@b.cn"))
    assert not wrong_kind.retryable and wrong_kind.code == "bad_address"
    assert len(provider.received) == 1  # only the first reached the provider


async def test_the_provider_s_rate_limit_its_outage_and_its_absence_are_retried(
    client: httpx.AsyncClient, provider: Receiver, message: RenderedMessage
):
    channel = sms(client, f"{provider.base}/")
    provider.mode = "rate_limited"
    limited = await channel.deliver(message, PhoneNumber("13800138000"))
    assert not limited.sent and limited.retryable and limited.code == "rate_limited"
    provider.mode = "error_500"
    failing = await channel.deliver(message, PhoneNumber("13800138000"))
    assert not failing.sent and failing.retryable and failing.code == "http_500"
    down = await sms(client, closed_port_url("/")).deliver(message, PhoneNumber("13800138000"))
    assert not down.sent and down.retryable and down.code == "network"
