"""What the HTTP API and the CLI do, apart from HTTP. ``Services`` is their one entry point.

- ``context.py``: what every service stands on (database, store, reference data, Temporal,
  policy, calendar, clock).
- ``refusals.py``: ``Refused``, and how a domain rule, a workflow or an unreachable Temporal or
  database becomes one.
- ``access.py``: who may read or act on a case or an enterprise's record.
- ``cases.py``: registering a hazard, reading its case, commanding it.
- ``credit.py``: commanding an enterprise's credit record.
- ``lists.py``: the read models' lists, narrowed to what a principal may see.
- ``public_reports.py``: public reports (举报): filed and followed by the public, verified and
  rewarded by the grid.

Routes stay thin: they translate a request into a call here, and one place
(``api/errors.py``) turns refusals into answers. Every decision still goes through a workflow
and the domain; the services never write an event about a case themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.services.cases import CaseServices
from api.services.credit import CreditServices
from api.services.lists import ReadModelLists
from api.services.public_reports import PublicReportServices


@dataclass
class Services(CaseServices, CreditServices, ReadModelLists, PublicReportServices):
    """Every service over one set of parts (the fields of ``ServiceContext``)."""


__all__ = ["Services"]
