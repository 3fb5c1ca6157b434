"""SMS through Alibaba Cloud SMS (阿里云短信服务, dysmsapi ``SendSms``, API version 2017-05-25).

Request format and signature per Alibaba Cloud's documentation: the SendSms API reference
(dysmsapi 2017-05-25) and the RPC signature method (签名机制,
alibabacloud.com/help/en/short-message-service/latest/signature-method):

1. The parameters — the common ones (``AccessKeyId``, ``Action=SendSms``, ``Format=JSON``,
   ``RegionId``, ``SignatureMethod=HMAC-SHA1``, ``SignatureNonce`` (unique per request),
   ``SignatureVersion=1.0``, ``Timestamp`` (UTC, ``YYYY-MM-DDThh:mm:ssZ``),
   ``Version=2017-05-25``) and SendSms's own (``PhoneNumbers``, ``SignName``, ``TemplateCode``,
   ``TemplateParam`` (a JSON object of the template's variables), ``OutId``) — are sorted by
   name, and each name and value percent-encoded in UTF-8 per RFC 3986 (only ``A-Z a-z 0-9 - _
   . ~`` stay as they are; a space is ``%20``), joined as ``name=value`` with ``&``: the
   canonicalised query string.
2. StringToSign = ``HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalised)``.
3. ``Signature`` = Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)), added as one
   more parameter. The documented example (testId / testSecret, SignName 阿里云短信测试专用)
   gives ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``; tests/channels checks this code against it.

duban POSTs the parameters form-encoded (the method in StringToSign is ``POST``) to the
configured endpoint (default ``https://dysmsapi.aliyuncs.com/``). The answer is JSON:
``{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}`` — sent, ``BizId`` is the
provider's id; otherwise ``Code`` says why (with HTTP 200, or 400/403/404 for a refused
request): rate limits (``isv.BUSINESS_LIMIT_CONTROL``, ``Throttling.*``), the platform's own
trouble (``isp.SYSTEM_ERROR``, ``ServiceUnavailable``) and an account out of credit
(``isv.AMOUNT_NOT_ENOUGH``, ``isv.OUT_OF_SERVICE``: held until an operator tops it up) are
retried; ``SignatureDoesNotMatch``, ``InvalidAccessKeyId.*``, ``isv.MOBILE_NUMBER_ILLEGAL`` and
the other template or signature refusals are final.

The SMS text is the approved template's (an SMS template is reviewed by the carrier before
use, and may not carry a link as a variable); duban fills one variable, named by the
``DUBAN_SMS_TEMPLATE_PARAM`` setting, with the notice's subject cut to 35 characters, the
longest value Alibaba Cloud's template rules allow a variable of a notification template.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from activities.channels.base import (
    Address,
    DeliveryOutcome,
    PhoneNumber,
    RenderedMessage,
    http_status_failure,
    json_body,
    normalised_phone,
    transport_failure,
    wrong_address,
)

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
TEMPLATE_VALUE_MAX_CHARS = 35
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "isp.SYSTEM_ERROR",
        "ServiceUnavailable",
        "InternalError",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
    }
)
RATE_LIMIT_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "Throttling.Api"}
)
BAD_ADDRESS_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"})


def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba Cloud's signature wants it: only A-Z a-z 0-9 - _ . ~ unescaped."""
    return quote(value, safe="~")


def canonicalised_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalised_query(params))}"


def rpc_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)), the RPC signature."""
    key = f"{access_key_secret}&".encode()
    digest = hmac.new(key, string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsChannel:
    name = "sms"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        template_param: str = "subject",
        endpoint: str = DEFAULT_ENDPOINT,
        region_id: str = "cn-hangzhou",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._client = client
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._template_code = template_code
        self._template_param = template_param
        self._endpoint = endpoint
        self._region = region_id
        self._clock = clock
        self._nonce = nonce

    def request_parameters(self, message: RenderedMessage, phone: str) -> dict[str, str]:
        """The signed SendSms parameters for ``message`` to ``phone``."""
        value = message.subject[:TEMPLATE_VALUE_MAX_CHARS]
        params = {
            "AccessKeyId": self._key_id,
            "Action": "SendSms",
            "Format": "JSON",
            # A step key names its recipient; the provider's receipts carry this hash of it.
            "OutId": hashlib.sha256(message.step_key.encode()).hexdigest()[:32],
            "PhoneNumbers": phone,
            "RegionId": self._region,
            "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": self._template_code,
            "TemplateParam": json.dumps({self._template_param: value}, ensure_ascii=False),
            "Timestamp": datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = rpc_signature("POST", params, self._secret)
        return params

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, PhoneNumber):
            return wrong_address(self.name, address, "a phone number")
        phone = normalised_phone(address.number)
        if phone is None:
            return DeliveryOutcome.failed(
                "bad_address", f"not a mobile phone number: {address.number!r}", retryable=False
            )
        params = self.request_parameters(message, phone)
        try:
            response = await self._client.post(
                self._endpoint,
                content=canonicalised_query(params).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return transport_failure(exc)
        answer = json_body(response)
        if answer is not None and "Code" in answer:
            return aliyun_outcome(answer, response.status_code)
        return http_status_failure(response) or DeliveryOutcome.failed(
            "unreadable_answer",
            f"Aliyun SMS: HTTP {response.status_code} without its JSON: {response.text[:200]}",
            retryable=True,
        )


def aliyun_outcome(answer: Mapping[str, object], status: int = 200) -> DeliveryOutcome:
    code = str(answer.get("Code"))
    reason = f"Aliyun SMS {code}: {answer.get('Message', '')} (RequestId {answer.get('RequestId')})"
    if code == "OK":
        biz_id = answer.get("BizId")
        return DeliveryOutcome.delivered(str(biz_id) if biz_id else None)
    if code in RATE_LIMIT_CODES:
        return DeliveryOutcome.failed("rate_limited", reason, retryable=True)
    if code in RETRYABLE_CODES or status >= 500:
        return DeliveryOutcome.failed(f"provider:{code}", reason, retryable=True)
    if code == "SignatureDoesNotMatch":
        return DeliveryOutcome.failed("signature_refused", reason, retryable=False)
    if code in BAD_ADDRESS_CODES:
        return DeliveryOutcome.failed("bad_address", reason, retryable=False)
    return DeliveryOutcome.failed(f"provider:{code}", reason, retryable=False)
