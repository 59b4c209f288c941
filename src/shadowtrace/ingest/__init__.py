"""Ingest AIS files of every common format into the canonical store tables.

    from shadowtrace.ingest import ingest
    report = ingest(["data/"], db="ais.duckdb")
"""

from shadowtrace.ingest.run import IngestOptions, IngestReport, SourceResult, ingest

__all__ = ["IngestOptions", "IngestReport", "SourceResult", "ingest"]
