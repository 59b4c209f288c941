"""Reports for people: the per-vessel evidence dossier (HTML, optionally PDF)."""

from shadowtrace.report.dossier import render_dossier, write_dossier

__all__ = ["render_dossier", "write_dossier"]
