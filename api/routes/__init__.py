"""The API's routes, one module per resource, each with its ``router`` (``api/app.py``
includes them under /api/v1, the probes outside it):

- ``hazards.py``: register a hazard, the case list, a case live.
- ``case_actions.py``: a person's actions on a case (one route each).
- ``audit.py``: a case's stored history and its state as of an instant.
- ``grid.py``, ``enterprises.py``: the reference data.
- ``credit.py``: an enterprise's credit record and its proceedings (one route each).
- ``public.py``: the public registers (no token).
- ``documents.py``: a case's issued documents and PDFs; the public verification of a short
  code (``/api/v1/public/documents/<code>`` and the QR code's page ``/v/<code>``).
- ``reports.py``: stored reports and live statistics.
- ``ledger.py``: the hazard ledger (台账) as an .xlsx or .csv download.
- ``probes.py``: /healthz, /readyz, /metrics.

A route that reads the database is a plain ``def`` (FastAPI runs it in its thread pool); an
``async def`` one awaits Temporal and sends every database read off the event loop.
"""
