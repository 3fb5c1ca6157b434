"""Request and response bodies of the HTTP API, with the limits every field must respect.

One module a resource; every name is re-exported here, so ``from api.schemas import X`` is
the way to import them."""

from api.schemas.cases import (
    AcceptanceIn,
    CaseOut,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    GovernancePlanIn,
    HazardIn,
    HazardRowOut,
    ListingIn,
    ListingMeasuresIn,
    RefusalIn,
    RegisteredOut,
    ReportIn,
    StoredEventOut,
    VerificationIn,
    WithdrawalIn,
)
from api.schemas.common import (
    CODE_PATTERN,
    HAZARD_ID_PATTERN,
    AddedLater,
    CreditCode,
    EvidenceIn,
    GridCode,
    InstantText,
    Page,
    Strict,
)
from api.schemas.credit import (
    BlacklistEntryOut,
    CreditEntryOut,
    CreditOut,
    CreditRecordOut,
    EarlyRemovalDecisionIn,
    EarlyRemovalIn,
    ListingDecisionIn,
    ObjectionIn,
    ProceedingIn,
    ProceedingOut,
    RevocationIn,
    TimerOut,
)
from api.schemas.errors import (
    ErrorBody,
    ErrorOut,
)
from api.schemas.files import (
    FileOut,
)
from api.schemas.inbox import (
    InboxMessageOut,
)
from api.schemas.public_reports import (
    ChallengeOut,
    DismissalIn,
    PublicReportFiledOut,
    PublicReportFollowOut,
    PublicReportIn,
    PublicReportRowOut,
    RewardIn,
    SubstantiationIn,
)
from api.schemas.reference import (
    EnterpriseIn,
    EnterpriseOut,
    EnterpriseRowOut,
    GridUnitDetailOut,
    GridUnitIn,
    GridUnitOut,
)
from api.schemas.registers import (
    ListingEntryOut,
    RegisterEntryOut,
)
from api.schemas.statistics import (
    StatisticsOut,
)

__all__ = [
    "CODE_PATTERN",
    "HAZARD_ID_PATTERN",
    "AcceptanceIn",
    "AddedLater",
    "BlacklistEntryOut",
    "CaseOut",
    "ChallengeOut",
    "CreditCode",
    "CreditEntryOut",
    "CreditOut",
    "CreditRecordOut",
    "DismissalIn",
    "EarlyRemovalDecisionIn",
    "EarlyRemovalIn",
    "EnterpriseIn",
    "EnterpriseOut",
    "EnterpriseRowOut",
    "ErrorBody",
    "ErrorOut",
    "EvidenceIn",
    "ExtensionDecisionIn",
    "ExtensionRequestIn",
    "FileOut",
    "GovernancePlanIn",
    "GridCode",
    "GridUnitDetailOut",
    "GridUnitIn",
    "GridUnitOut",
    "HazardIn",
    "HazardRowOut",
    "InboxMessageOut",
    "InstantText",
    "ListingDecisionIn",
    "ListingEntryOut",
    "ListingIn",
    "ListingMeasuresIn",
    "ObjectionIn",
    "Page",
    "ProceedingIn",
    "ProceedingOut",
    "PublicReportFiledOut",
    "PublicReportFollowOut",
    "PublicReportIn",
    "PublicReportRowOut",
    "RefusalIn",
    "RegisterEntryOut",
    "RegisteredOut",
    "ReportIn",
    "RevocationIn",
    "RewardIn",
    "StatisticsOut",
    "StoredEventOut",
    "Strict",
    "SubstantiationIn",
    "TimerOut",
    "VerificationIn",
    "WithdrawalIn",
]
