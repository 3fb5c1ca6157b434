"""The official documents (公文) a case and a credit record give rise to, as data.

A builder turns a recorded event into a ``DocumentDraft``: everything the events decide — the
kind, the issuing authority, the addressee, the facts, the legal basis, the deadline, the
rights, the 成文日期. Issuing gives it its 发文字号 (from the authority's per-year sequence)
and its verification code, and makes the ``DocumentModel`` that the renderer lays out after
GB/T 9704-2012. Both are plain frozen data that ``domain._codec`` turns into JSON and back, so
that an issue event can carry the model and a reprint renders exactly what was issued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.errors import DomainError
from domain.grid import GridLevel


class DocumentKind(StrEnum):
    """The kinds of document duban issues; the value is the key used in the rules file."""

    RECTIFICATION_NOTICE = "rectification_notice"  # 事故隐患整改通知书
    SUPERVISION_NOTICE = "supervision_notice"  # 事故隐患督办通知书 (to the enterprise)
    SUPERVISION_LETTER = "supervision_letter"  # 督办函 (to the grid unit below)
    LISTING_NOTICE = "listing_notice"  # 挂牌督办通知书
    LISTING_ANNOUNCEMENT = "listing_announcement"  # 挂牌督办公告
    EXTENSION_DECISION = "extension_decision"  # 延期审批决定书
    VERIFICATION_OPINION = "verification_opinion"  # 复查意见书
    DELISTING_NOTICE = "delisting_notice"  # 摘牌销号通知书 / 销号通知书
    DELISTING_ANNOUNCEMENT = "delisting_announcement"  # 摘牌公告
    ENFORCEMENT_REFERRAL = "enforcement_referral"  # 案件移送书
    CREDIT_LISTING_NOTICE = "credit_listing_notice"  # 列入严重失信主体名单告知书
    CREDIT_LISTING_DECISION = "credit_listing_decision"  # 列入严重失信主体名单决定书
    CREDIT_REPAIR_DECISION = "credit_repair_decision"  # 信用修复 (提前移出) 决定书


class ParagraphStyle(StrEnum):
    BODY = "body"  # 正文: first line indented two characters
    FLUSH = "flush"  # 顶格: the 主送 line, lists that must not be indented
    HEADING = "heading"  # 一级标题 ("一、…"), 黑体


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: ParagraphStyle = ParagraphStyle.BODY


@dataclass(frozen=True)
class Authority:
    """An issuing authority (发文机关): the grid unit it stands for, its full name (发文机关
    全称, printed in the 版头 and the 落款) and its abbreviation (发文机关代字, in the 文号)."""

    unit_code: str
    unit_name: str
    level: GridLevel
    name: str
    abbreviation: str


@dataclass(frozen=True)
class Citation:
    """One legal basis (依据): the rule's title and article as the rules file words them."""

    text: str


@dataclass(frozen=True)
class Right:
    """A right of the addressee (陈述申辩, 行政复议, 行政诉讼, 延期申请) as the rule gives it,
    with the rule that gives it."""

    key: str  # the rules file's key: statement, review, litigation, extension, early_removal
    text: str
    citation: str


@dataclass(frozen=True)
class Deadline:
    """A deadline as the document states it: the instant, its words in the policy's time zone
    (``2026年12月31日（星期四）24时前``) and, where the rule counts them, the period counted
    (``10个工作日``)."""

    at: datetime
    words: str
    counted: str = ""


@dataclass(frozen=True)
class DocumentDraft:
    """A document as the events decide it, before its number is drawn."""

    kind: DocumentKind
    key: str  # stable per source event and kind: the issue event's idempotency key
    subject: str  # the hazard id or the enterprise's credit code
    source_event: str  # EVENT_TYPE of the event the document comes from
    source_at: datetime
    authority: Authority
    title: str
    addressees: tuple[str, ...]  # 主送; empty for a 公告
    body: tuple[Paragraph, ...]
    basis: tuple[Citation, ...]
    deadline: Deadline | None
    rights: tuple[Right, ...]
    signed_on: date  # 成文日期, in the policy's time zone
    copy_to: tuple[str, ...] = ()  # 抄送
    rule_keys: tuple[str, ...] = ()  # the policy keys that set its numbers (for audit, not print)
    seal: bool = True  # a place for the authority's seal (印章) over the 落款


@dataclass(frozen=True)
class DocumentNumber:
    """发文字号: 发文机关代字 + 〔year〕 + serial + 号; the serial never has leading zeros and
    never 第 (GB/T 9704-2012 7.2.4)."""

    abbreviation: str
    year: int
    serial: int

    def __post_init__(self) -> None:
        if not self.abbreviation.strip():
            raise DomainError(
                "document.number.abbreviation_required", "发文机关代字 is empty", "abbreviation"
            )
        if self.serial < 1:
            raise DomainError("document.number.serial_positive", "发文顺序号 starts at 1", "serial")

    @property
    def text(self) -> str:
        return f"{self.abbreviation}〔{self.year}〕{self.serial}号"


_SHORT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")


@dataclass(frozen=True)
class Verification:
    """What the QR code and the short code printed at the foot lead to (核验)."""

    short_code: str  # 4-32 of A-Z, 0-9 and '-', e.g. ZG7Q-4K2M
    url: str  # the QR payload: at most 100 characters, so that its modules print ≥ 0.4 mm

    def __post_init__(self) -> None:
        if not _SHORT_CODE.match(self.short_code):
            raise DomainError(
                "document.verification.short_code",
                "4-32 characters of A-Z, 0-9 and '-', starting with a letter or digit",
                "short_code",
            )
        if not self.url.startswith(("https://", "http://")) or len(self.url) > 100:
            raise DomainError(
                "document.verification.url",
                "an http(s) URL of at most 100 characters (a longer one prints a QR code too "
                "fine to scan)",
                "url",
            )


@dataclass(frozen=True)
class DocumentModel:
    """An issued document: the draft, its 发文字号 and its verification code."""

    draft: DocumentDraft
    number: DocumentNumber
    verification: Verification

    def __post_init__(self) -> None:
        if self.number.abbreviation != self.draft.authority.abbreviation:
            raise DomainError(
                "document.number.other_authority",
                f"{self.number.text} is not a number of {self.draft.authority.name}",
                "number",
            )

    def text_lines(self) -> list[str]:
        """The document's words in reading order (what a text extraction must find)."""
        d = self.draft
        return [
            d.authority.name,
            self.number.text,
            d.title,
            *(("、".join(d.addressees) + "：",) if d.addressees else ()),
            *(p.text for p in d.body),
            d.authority.name,
            signed_on_words(d.signed_on),
        ]


def signed_on_words(day: date) -> str:
    """成文日期 in Arabic numerals, year, month and day in full, no leading zeros: 2026年12月7日."""
    return f"{day.year}年{day.month}月{day.day}日"


def issue(draft: DocumentDraft, serial: int, verification: Verification) -> DocumentModel:
    """The draft as issued under ``serial`` of its authority's sequence for the year of its
    成文日期 (the sequence itself is kept by the caller, as events)."""
    number = DocumentNumber(draft.authority.abbreviation, draft.signed_on.year, serial)
    return DocumentModel(draft, number, verification)
