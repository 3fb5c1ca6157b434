"""What the HTTP API and the CLI do, apart from HTTP. ``Services`` is their one entry point.

- ``context.py``: what every service stands on (database, store, reference data, Temporal,
  policy, calendar, clock).
- ``refusals.py``: ``Refused``, and how a domain rule, a workflow or an unreachable Temporal or
  database becomes one.
- ``access.py``: who may read or act on a case or an enterprise's record.
- ``cases.py``: registering a hazard, reading its case, commanding it.
- ``credit.py``: commanding an enterprise's credit record.
- ``files.py``: evidence files: uploading, citing, reading a case's files.
- ``documents.py``: a case's issued documents, their PDFs, the public verification.
- ``lists.py``: the read models' lists, narrowed to what a principal may see.
- ``ledger.py``: the hazard ledger (台账) of a grid unit and period as .xlsx or .csv.
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
from api.services.documents import DocumentServices
from api.services.files import FileServices
from api.services.ledger import LedgerServices
from api.services.lists import ReadModelLists
from api.services.public_reports import PublicReportServices


@dataclass
class Services(
    CaseServices,
    CreditServices,
    DocumentServices,
    FileServices,
    LedgerServices,
    PublicReportServices,
    ReadModelLists,
):
    """Every service over one set of parts (the fields of ``ServiceContext``)."""


__all__ = ["Services"]
