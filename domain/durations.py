"""Policy durations: ISO 8601 calendar durations and working-day durations.

Syntax (used in every policy file):

* ``P7D``, ``P2W``, ``P1M``, ``P1Y``, ``P1Y2M10DT2H30M``, ``PT1H30M``, ``PT30S`` — ISO 8601
  calendar durations. They are added on the local wall clock of the policy's time zone:
  ``P1M`` from 31 January is the last day of February, same clock time (China has no DST).
* ``P20WD`` — 20 working days (工作日). This is the only non-ISO form and it stands alone (no
  other components). It ends at 24:00 local of the 20th working day, see ``domain.calendar``.

``add_to`` adds exactly (wall clock). ``add_as_period`` reads the duration as a legal period
(期间, Civil Code Art. 201–203): days, months and years end at 24:00 of the last day, rolled to
the next working day's end when that day is off work; a duration with a time part (``PT30S``)
stays an exact instant, so drills and tests run in seconds.
"""

from __future__ import annotations

import calendar as _stdcal
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.errors import DomainError

_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_WD = re.compile(r"^P(?P<n>\d+)WD$")


@dataclass(frozen=True)
class PolicyDuration:
    """A duration from the policy. Either calendar parts or ``working_days`` (never both)."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0
    working_days: int = 0

    @staticmethod
    def parse(text: str, field: str = "duration") -> PolicyDuration:
        raw = text.strip().upper()
        wd = _WD.match(raw)
        if wd:
            n = int(wd["n"])
            if n == 0:
                raise DomainError("duration.positive", "P0WD is not a duration", field)
            return PolicyDuration(working_days=n)
        m = _ISO.match(raw)
        if not m or raw in ("P", "PT") or raw.endswith("T"):
            raise DomainError(
                "duration.syntax",
                f"{text!r} is not an ISO 8601 duration (P7D, PT30S, P1M, PT1H30M) "
                "nor a working-day duration (P20WD)",
                field,
            )

        def part(name: str) -> int:
            value = m[name]
            return int(value) if value else 0

        result = PolicyDuration(
            years=part("y"),
            months=part("mo"),
            days=part("w") * 7 + part("d"),
            seconds=part("h") * 3600 + part("mi") * 60 + part("s"),
        )
        if result.is_zero:
            raise DomainError("duration.positive", f"{text!r} is zero", field)
        return result

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.seconds or self.working_days)

    @property
    def is_working_days(self) -> bool:
        return self.working_days > 0

    def __str__(self) -> str:
        if self.working_days:
            return f"P{self.working_days}WD"
        date_part = "".join(
            f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if v
        )
        h, rest = divmod(self.seconds, 3600)
        mi, s = divmod(rest, 60)
        time_part = "".join(f"{v}{u}" for v, u in ((h, "H"), (mi, "M"), (s, "S")) if v)
        return "P" + date_part + (f"T{time_part}" if time_part else "")

    def _shift(self, instant: datetime, sign: int, tz: ZoneInfo) -> datetime:
        local = instant.astimezone(tz)
        month_index = local.year * 12 + (local.month - 1) + sign * (self.years * 12 + self.months)
        year, month = divmod(month_index, 12)
        month += 1
        day = min(local.day, _stdcal.monthrange(year, month)[1])
        moved = local.replace(year=year, month=month, day=day)
        moved = moved + sign * timedelta(days=self.days, seconds=self.seconds)
        # Re-attach the zone so that wall-clock arithmetic gives the right offset.
        return moved.replace(tzinfo=tz).astimezone(UTC)

    def add_to(self, instant: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        """The instant this duration after ``instant`` (UTC). Working days end at 24:00 local."""
        _aware(instant)
        if self.working_days:
            return calendar.add_working_days(instant, self.working_days, tz)
        return self._shift(instant, +1, tz)

    def add_as_period(self, instant: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        """The end of the legal period this duration long that starts at ``instant`` (UTC)."""
        _aware(instant)
        if self.working_days or self.seconds:
            return self.add_to(instant, calendar, tz)
        last_day = self._shift(instant, +1, tz).astimezone(tz).date()
        return calendar.end_of_legal_period(last_day, tz)

    def subtract_from(
        self,
        instant: datetime,
        calendar: WorkingCalendar,
        tz: ZoneInfo,
        *,
        closing_day_must_work: bool = False,
    ) -> datetime:
        """The instant this duration before ``instant`` (UTC); working days as a cut-off, see
        ``WorkingCalendar.subtract_working_days``."""
        _aware(instant)
        if self.working_days:
            return calendar.subtract_working_days(
                instant, self.working_days, tz, closing_day_must_work=closing_day_must_work
            )
        return self._shift(instant, -1, tz)

    def bounds_in_seconds(self) -> tuple[int, int]:
        """The shortest and longest this duration can be, in seconds, wherever it starts.

        Months run 28–31 days, years 365–366; n working days take at least n days and at
        most n weeks plus the longest run of holidays (the Spring Festival week with its
        adjacent weekend, 9 days). Used to check one policy value against another.
        """
        day = 86400
        if self.working_days:
            n = self.working_days
            return n * day, (n * 7 + 9) * day
        shortest = (self.years * 365 + self.months * 28 + self.days) * day + self.seconds
        longest = (self.years * 366 + self.months * 31 + self.days) * day + self.seconds
        return shortest, longest

    def surely_at_most(self, other: PolicyDuration) -> bool:
        """True when this duration can never be longer than ``other``."""
        if self.working_days and other.working_days:
            return self.working_days <= other.working_days
        if not (self.working_days or other.working_days) and (
            self.years * 12 + self.months == other.years * 12 + other.months
        ):
            return self.days * 86400 + self.seconds <= other.days * 86400 + other.seconds
        return self.bounds_in_seconds()[1] <= other.bounds_in_seconds()[0]

    def subtract_calendar(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """Subtract a calendar duration without a working calendar (reminder offsets)."""
        if self.working_days:
            raise DomainError(
                "duration.calendar_only", f"{self} needs a working calendar", "duration"
            )
        _aware(instant)
        return self._shift(instant, -1, tz)


def _aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise DomainError("time.aware_required", "datetimes must carry a time zone", "datetime")


# The instants a person may give (found_at, deadlines): years 1900 to 9998 as written. Nothing
# in supervision predates 1900, and stopping a year short of datetime's 9999 leaves room for the
# offset and for the policy's periods added to them, so that no arithmetic on an accepted
# instant can overflow.
EARLIEST_YEAR = 1900
LATEST_YEAR = 9998


def utc_instant(instant: datetime, field: str) -> datetime:
    """``instant`` in UTC, or a DomainError naming ``field`` when it has no time zone
    (``time.aware_required``) or lies outside years 1900..9998 (``time.out_of_range``)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise DomainError("time.aware_required", "datetimes must carry a time zone", field)
    if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
        raise DomainError(
            "time.out_of_range",
            f"{instant.isoformat()} is outside the years {EARLIEST_YEAR}..{LATEST_YEAR}",
            field,
        )
    return instant.astimezone(UTC)
