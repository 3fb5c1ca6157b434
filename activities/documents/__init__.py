"""Official documents rendered as PDF (公文): ``render_document`` lays a ``DocumentModel`` out
after GB/T 9704-2012; ``mark_copy`` appends a 副本/补发 mark to an issued PDF without touching
its bytes; ``load_document_rules`` reads the naming, basis and rights rules."""

from activities.documents.marking import mark_copy
from activities.documents.render import render_document
from activities.documents.rules_file import load_document_rules

__all__ = ["load_document_rules", "mark_copy", "render_document"]
