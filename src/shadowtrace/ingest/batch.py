"""The staging batch every reader produces, before validation and loading."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

POSITION_STAGE = pa.schema(
    [
        ("mmsi", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("sog", pa.float64()),
        ("cog", pa.float64()),
        ("heading", pa.int32()),
        ("nav_status", pa.int32()),
        ("msg_type", pa.int32()),
        ("source_line", pa.int64()),
        ("raw", pa.string()),
    ]
)

REPORT_STAGE = pa.schema(
    [
        ("mmsi", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("imo", pa.int64()),
        ("name", pa.string()),
        ("callsign", pa.string()),
        ("ship_type", pa.int32()),
        ("to_bow", pa.int32()),
        ("to_stern", pa.int32()),
        ("to_port", pa.int32()),
        ("to_starboard", pa.int32()),
        ("length_m", pa.float64()),
        ("width_m", pa.float64()),
        ("draught", pa.float64()),
        ("destination", pa.string()),
        ("eta", pa.string()),
        ("msg_type", pa.int32()),
        ("source_line", pa.int64()),
        ("raw", pa.string()),
        # True when the report comes with a position from the same message or row
        # (type 19, CSV rows): that message is counted once, as a position.
        ("derived", pa.bool_()),
    ]
)

REJECT_STAGE = pa.schema(
    [("source_line", pa.int64()), ("raw", pa.string()), ("reason", pa.string())]
)


@dataclass
class Batch:
    """Rows read from one slice of an input, not yet validated or deduplicated."""

    positions: pa.Table
    reports: pa.Table
    rejects: pa.Table
    lines: int = 0
    blank_lines: int = 0
    fragments: int = 0
    other_by_kind: Counter[str] = field(default_factory=Counter)
