"""The one lock every use of PDFium in a process holds (pypdfium2).

PDFium is not thread-safe: no two of its calls may run at once in a process, not even on
different documents (pypdfium2's documentation, "Incompatibility with Threading"). Every
module that renders or reads a PDF with pypdfium2 takes this lock around all its PDFium
work, and closes what it opened before releasing it (a finaliser running later on another
thread would be a PDFium call outside the lock).
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
