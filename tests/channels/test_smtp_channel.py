"""E-mail over SMTP against a real SMTP server started by the test (aiosmtpd, in a thread):
without AUTH, with AUTH, over STARTTLS and implicit TLS with a private CA; the received message
is parsed back and its headers and Chinese body checked."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities.channels import Attachment, EmailAddress, PhoneNumber, RenderedMessage
from activities.channels.smtp import SmtpChannel, SmtpConfig, message_id
from tests.channels.conftest import rendered_notice

FROM = "duban@yjj.zhucheng.example.cn"
USER, PASSWORD = "duban", "正确的口令-1"


@dataclass
class Mailbox:
    """The SMTP server's handler: keeps what it accepts; refuses some recipients."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ):
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(self.raw[-1])
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 Ok: queued"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    mailbox: Mailbox
    port: int
    controller: Controller


@pytest.fixture()
def start_server() -> Iterator[Any]:
    started: list[Controller] = []

    def start(**options: Any) -> Server:
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return Server(mailbox, port, controller)

    yield start
    for controller in started:
        controller.stop()


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A private CA and a certificate it signed for 127.0.0.1 (a bureau's own mail server)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "duban test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Certificates(ca_file, context)


def channel(port: int, **options: Any) -> SmtpChannel:
    config: dict[str, Any] = {"security": "none", "timeout": 5.0} | options
    return SmtpChannel(SmtpConfig(host="127.0.0.1", port=port, from_address=FROM, **config))


def header(mail: Message, name: str) -> str:
    return str(make_header(decode_header(mail[name])))


async def test_the_mail_arrives_with_chinese_headers_and_body_decoded_and_its_message_id(
    start_server: Any, message: RenderedMessage
):
    server = start_server()
    outcome = await channel(server.port).deliver(
        message, EmailAddress("zhang.san@qiye.example.cn", "张三（安全管理人员）")
    )
    assert outcome.sent, outcome
    ((mail_from, rcpt_tos, mail),) = server.mailbox.messages
    assert mail_from == FROM and rcpt_tos == ["zhang.san@qiye.example.cn"]
    assert header(mail, "Subject") == message.subject
    assert parseaddr(header(mail, "From")) == ("督办", FROM)
    assert parseaddr(header(mail, "To")) == ("张三（安全管理人员）", "zhang.san@qiye.example.cn")
    assert mail["Subject"].startswith("=?utf-8?")  # RFC 2047 on the wire: ASCII headers only
    assert mail["Message-ID"] == message_id(message.step_key, FROM) == outcome.provider_message_id
    assert mail["Message-ID"].endswith("@yjj.zhucheng.example.cn>")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    body = mail.get_payload(decode=True).decode("utf-8")
    assert "整改期限：2026年12月31日 17:00" in body and "配电箱门未关闭" in body
    assert body.rstrip().endswith(f"查看案件：{message.link}")


async def test_a_repeat_of_one_step_carries_the_same_message_id_another_step_another(
    start_server: Any, message: RenderedMessage
):
    server = start_server()
    smtp = channel(server.port)
    await smtp.deliver(message, EmailAddress("a@qiye.example.cn"))
    await smtp.deliver(message, EmailAddress("a@qiye.example.cn"))
    other = replace(rendered_notice("en"), step_key="H-0001:3:CaseEscalated:enterprise:x")
    await smtp.deliver(other, EmailAddress("a@qiye.example.cn"))
    ids = [mail["Message-ID"] for _f, _t, mail in server.mailbox.messages]
    assert ids[0] == ids[1] != ids[2]
    assert header(server.mailbox.messages[2][2], "Subject").startswith("[Duban] ")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_server_that_requires_a_login_gets_it_and_a_wrong_password_is_final(
    start_server: Any, message: RenderedMessage
):
    server = start_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    right = channel(server.port, username=USER, password=PASSWORD)
    assert (await right.deliver(message, EmailAddress("a@qiye.example.cn"))).sent
    wrong = await channel(server.port, username=USER, password="guess").deliver(
        message, EmailAddress("a@qiye.example.cn")
    )
    assert not wrong.sent and not wrong.retryable and wrong.code == "login_refused"
    anonymous = await channel(server.port).deliver(message, EmailAddress("a@qiye.example.cn"))
    assert not anonymous.sent and not anonymous.retryable  # 530 authentication required
    assert len(server.mailbox.messages) == 1


async def test_starttls_with_a_private_ca_and_a_login_over_it(
    start_server: Any, certificates: Certificates, message: RenderedMessage
):
    server = start_server(
        tls_context=certificates.server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    smtp = channel(
        server.port,
        security="starttls",
        ca_file=certificates.ca_file,
        username=USER,
        password=PASSWORD,
    )
    assert (await smtp.deliver(message, EmailAddress("a@qiye.example.cn"))).sent
    # Without the CA the certificate does not verify: final, never sent in the clear.
    untrusted = channel(server.port, security="starttls", username=USER, password=PASSWORD)
    refused = await untrusted.deliver(message, EmailAddress("a@qiye.example.cn"))
    assert not refused.sent and not refused.retryable and refused.code == "tls"
    assert len(server.mailbox.messages) == 1


async def test_implicit_tls_and_a_document_named_in_the_mail(
    start_server: Any, certificates: Certificates, message: RenderedMessage
):
    server = start_server(ssl_context=certificates.server_context)
    smtp = channel(server.port, security="ssl", ca_file=certificates.ca_file)
    notice = Attachment(
        "整改通知书 ZG-2025-1.pdf", "https://duban.example.gov.cn/d/ab12", "ab12" * 16
    )
    assert (
        await smtp.deliver(replace(message, attachment=notice), EmailAddress("a@qiye.example.cn"))
    ).sent
    mail = server.mailbox.messages[0][2]
    assert header(mail, "Subject") == message.subject
    body = mail.get_payload(decode=True).decode("utf-8")
    assert f"整改通知书 ZG-2025-1.pdf {notice.uri} (SHA-256 {notice.sha256})" in body


async def test_starttls_required_by_duban_but_not_offered_is_final(
    start_server: Any, message: RenderedMessage
):
    server = start_server()  # no tls_context: no STARTTLS
    outcome = await channel(server.port, security="starttls").deliver(
        message, EmailAddress("a@qiye.example.cn")
    )
    assert not outcome.sent and not outcome.retryable and outcome.code == "not_supported"
    assert server.mailbox.messages == []


async def test_recipients_refused_for_good_or_for_now(start_server: Any, message: RenderedMessage):
    server = start_server()
    smtp = channel(server.port)
    gone = await smtp.deliver(message, EmailAddress("nobody@qiye.example.cn"))
    assert (
        not gone.sent and not gone.retryable and gone.code == "bad_address" and "550" in gone.reason
    )
    later = await smtp.deliver(message, EmailAddress("busy@qiye.example.cn"))
    assert not later.sent and later.retryable and later.code == "smtp_451"


async def test_a_server_that_is_down_is_retried_and_a_bad_address_never_tried(
    message: RenderedMessage,
):
    smtp = channel(free_port())
    down = await smtp.deliver(message, EmailAddress("a@qiye.example.cn"))
    assert not down.sent and down.retryable and down.code == "network"
    for bad in ("网格员 郑", "a@b", "a@b.cn\r\nBcc: x@y.cn"):
        outcome = await smtp.deliver(message, EmailAddress(bad))
        assert not outcome.sent and not outcome.retryable and outcome.code == "bad_address", bad
    wrong_kind = await smtp.deliver(message, PhoneNumber("13800138000"))
    assert not wrong_kind.retryable and wrong_kind.code == "bad_address"


async def test_an_address_in_chinese_goes_by_smtputf8_or_is_final_where_the_server_lacks_it(
    start_server: Any, message: RenderedMessage
):
    server = start_server()  # aiosmtpd offers SMTPUTF8
    outcome = await channel(server.port).deliver(message, EmailAddress("张三@例子.中国", "张三"))
    assert outcome.sent, outcome
    assert server.mailbox.messages[0][1] == ["张三@例子.中国"]
    mail = email.message_from_bytes(server.mailbox.raw[0], policy=email.policy.SMTPUTF8)
    assert str(mail["To"]) == "张三 <张三@例子.中国>" and str(mail["Subject"]) == message.subject
    plain = start_server(enable_SMTPUTF8=False)
    refused = await channel(plain.port).deliver(message, EmailAddress("张三@例子.中国"))
    assert not refused.sent and not refused.retryable and refused.code == "not_supported"
