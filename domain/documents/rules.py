"""The document rules (公文规则): who issues, under which name and 文号 abbreviation, citing
what, and which rights each kind of document states.

A grid unit's record has its name (``示范县``) and its responsible person (``县应急管理局
赵局长``) but not the issuing authority's name: that follows from the unit's level and name by
the first matching ``[[authority]]`` rule (``{name}应急管理局``, abbreviation ``{first}应急``),
unless ``[units."<code>"]`` names it outright (a unit whose name the rules cannot turn into its
authority's). Village units (村/社区, 二级网格) are not administrative authorities: a document of
a case supervised there is issued by the nearest unit above whose level is in
``issuing_levels``.

The domain parses text (``parse_document_rules``); the shipped file is
``domain/documents/default.toml``, read by ``activities/documents/rules_file.py``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domain._codec import from_data
from domain.documents.model import Authority, Citation, DocumentKind, Right
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit


@dataclass(frozen=True)
class AuthorityRule:
    """Names the authority of the units at ``level`` (whose name ends with
    ``name_ends_with``, when given). Placeholders: ``{name}`` the unit's name, ``{first}`` its
    first character, ``{province_short}`` the province's one-character 简称 (鲁, 浙, …)."""

    level: GridLevel
    full_name: str
    abbreviation: str
    name_ends_with: str = ""


@dataclass(frozen=True)
class UnitAuthority:
    full_name: str
    abbreviation: str


@dataclass(frozen=True)
class EnforcementRule:
    """The enforcement body (执法机构) a case is referred to (移送), named from the unit that
    the policy's ``escalation.enforcement_grid_level`` gives."""

    full_name: str


@dataclass(frozen=True)
class RightRule:
    """A right and the rule that gives it. ``text`` is the sentence a document states for
    the rights a kind lists in ``kinds.*.rights`` (行政复议, 行政诉讼); the rights whose terms
    come from the policy and the case (延期申请, 陈述申辩, 提前移出) are worded by their
    builder from those terms, and take only their ``citation`` from here."""

    citation: str
    text: str = ""


# Rights worded by the builders from the policy's numbers; the rules file gives their source.
WORDED_RIGHTS = ("extension", "statement", "early_removal")


@dataclass(frozen=True)
class KindRules:
    basis: tuple[str, ...]  # 依据, cited in order
    rights: tuple[str, ...] = ()  # keys of [rights.*] this kind states (when it burdens)


@dataclass(frozen=True)
class DocumentRules:
    issuing_levels: tuple[GridLevel, ...]
    authority: tuple[AuthorityRule, ...]
    enforcement: EnforcementRule
    rights: dict[str, RightRule]
    kinds: dict[str, KindRules]
    units: dict[str, UnitAuthority] = field(default_factory=dict)
    name: str = "default"

    # --- authorities ------------------------------------------------------------------------

    def authority_of(self, unit: GridUnit) -> Authority:
        """The authority a grid unit issues documents as."""
        named = self.units.get(unit.code)
        if named is not None:
            return Authority(unit.code, unit.name, unit.level, named.full_name, named.abbreviation)
        for rule in self.authority:
            if rule.level is unit.level and unit.name.endswith(rule.name_ends_with):
                return Authority(
                    unit.code,
                    unit.name,
                    unit.level,
                    _fill(rule.full_name, unit.name),
                    _fill(rule.abbreviation, unit.name),
                )
        raise DomainError(
            "document.authority.unnamed",
            f"no [[authority]] rule names the authority of {unit.code} ({unit.name}, "
            f'{unit.level.value}); add a rule for its level or [units."{unit.code}"]',
            "authority",
        )

    def issuing_unit(self, path: Sequence[GridUnit], unit_code: str) -> GridUnit:
        """The unit that issues for ``unit_code``: itself, or the nearest unit above it on the
        grid path whose level issues documents."""
        codes = [u.code for u in path]
        if unit_code not in codes:
            raise DomainError(
                "document.authority.outside_path",
                f"grid unit {unit_code} is not on the case's grid path",
                "unit_code",
            )
        for unit in path[codes.index(unit_code) :]:
            if unit.level in self.issuing_levels:
                return unit
        raise DomainError(
            "document.authority.no_issuing_unit",
            f"no unit at or above {unit_code} has a level in issuing_levels",
            "issuing_levels",
        )

    def issuing_authority(self, path: Sequence[GridUnit], unit_code: str) -> Authority:
        return self.authority_of(self.issuing_unit(path, unit_code))

    def enforcement_body(self, unit: GridUnit) -> str:
        return _fill(self.enforcement.full_name, unit.name)

    # --- basis and rights -------------------------------------------------------------------

    def basis(self, kind: DocumentKind) -> tuple[Citation, ...]:
        return tuple(Citation(text) for text in self.kinds[kind.value].basis)

    def rights_of(self, kind: DocumentKind) -> tuple[Right, ...]:
        return tuple(self.right(key) for key in self.kinds[kind.value].rights)

    def right(self, key: str) -> Right:
        rule = self.rights[key]
        return Right(key, rule.text, rule.citation)


# 省级行政区的简称 (the provinces' one-character short names), as used in 文号 such as 鲁应急发.
_PROVINCE_SHORT = {
    "北京": "京", "天津": "津", "河北": "冀", "山西": "晋", "内蒙古": "蒙", "辽宁": "辽",
    "吉林": "吉", "黑龙江": "黑", "上海": "沪", "江苏": "苏", "浙江": "浙", "安徽": "皖",
    "福建": "闽", "江西": "赣", "山东": "鲁", "河南": "豫", "湖北": "鄂", "湖南": "湘",
    "广东": "粤", "广西": "桂", "海南": "琼", "重庆": "渝", "四川": "川", "贵州": "黔",
    "云南": "滇", "西藏": "藏", "陕西": "陕", "甘肃": "甘", "青海": "青", "宁夏": "宁",
    "新疆": "新",
}  # fmt: skip

_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
_PLACEHOLDERS = ("name", "first", "province_short")


def _province_short(name: str) -> str:
    return next((short for stem, short in _PROVINCE_SHORT.items() if name.startswith(stem)), "")


def _fill(template: str, unit_name: str) -> str:
    values = {
        "name": unit_name,
        "first": unit_name[:1],
        "province_short": _province_short(unit_name) or unit_name[:1],
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


# --- parsing ----------------------------------------------------------------------------------

RULE_KEYS_REQUIRED = {k.value for k in DocumentKind}


def parse_document_rules(text: str) -> DocumentRules:
    """Parse and check a document rules file; an error names the key path and the rule."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DomainError("documents.toml_syntax", f"not valid TOML: {exc}", "") from exc
    try:
        rules: DocumentRules = from_data(DocumentRules, data, strict=True)
    except DomainError as exc:
        raise DomainError("documents." + exc.rule, exc.message, exc.field) from exc
    _validate(rules)
    return rules


def _check(ok: bool, key: str, message: str, rule: str) -> None:
    if not ok:
        raise DomainError(rule, f"{key}: {message}", key)


def _check_template(template: str, key: str) -> None:
    for name in _PLACEHOLDER.findall(template):
        _check(
            name in _PLACEHOLDERS,
            key,
            f"unknown placeholder {{{name}}}; use "
            + ", ".join("{" + p + "}" for p in _PLACEHOLDERS),
            "documents.placeholder",
        )
    _check(bool(template.strip()), key, "must not be empty", "documents.text_required")


def _validate(rules: DocumentRules) -> None:
    _check(
        bool(rules.issuing_levels),
        "issuing_levels",
        "at least one grid level issues documents",
        "documents.issuing_levels",
    )
    for i, rule in enumerate(rules.authority):
        _check_template(rule.full_name, f"authority[{i}].full_name")
        _check_template(rule.abbreviation, f"authority[{i}].abbreviation")
    for level in rules.issuing_levels:
        _check(
            any(r.level is level and not r.name_ends_with for r in rules.authority),
            "authority",
            f"no rule without name_ends_with names every {level.value} authority",
            "documents.authority_rule_missing",
        )
    _check_template(rules.enforcement.full_name, "enforcement.full_name")
    for code, named in rules.units.items():
        for name in ("full_name", "abbreviation"):
            _check(
                bool(getattr(named, name).strip()),
                f"units.{code}.{name}",
                "must not be empty",
                "documents.text_required",
            )
    for key in WORDED_RIGHTS:
        _check(
            key in rules.rights,
            f"rights.{key}",
            "missing: the documents state this right and cite the rule that gives it",
            "documents.right_missing",
        )
    for key, right in rules.rights.items():
        _check(
            bool(right.citation.strip()),
            f"rights.{key}.citation",
            "must not be empty: a right is stated with the rule that gives it",
            "documents.text_required",
        )
    for kind in rules.kinds:
        _check(
            kind in RULE_KEYS_REQUIRED,
            f"kinds.{kind}",
            f"unknown document kind; the kinds are {sorted(RULE_KEYS_REQUIRED)}",
            "documents.kind_unknown",
        )
    for kind in sorted(RULE_KEYS_REQUIRED - set(rules.kinds)):
        raise DomainError(
            "documents.kind_missing",
            f"kinds.{kind}: every kind states its basis (an empty list says it cites none)",
            f"kinds.{kind}",
        )
    for kind, kind_rules in rules.kinds.items():
        for i, key in enumerate(kind_rules.rights):
            _check(
                key in rules.rights,
                f"kinds.{kind}.rights[{i}]",
                f"no [rights.{key}]",
                "documents.right_unknown",
            )
            _check(
                bool(rules.rights[key].text.strip()),
                f"rights.{key}.text",
                f"kinds.{kind} states this right, so it needs its sentence",
                "documents.text_required",
            )
