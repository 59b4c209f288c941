"""Validated filter values shared by the read-side queries (vessels, events, tracks).

Every value here ends up as a bound SQL parameter; nothing is ever formatted into SQL text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from shadowtrace.errors import ConfigError

# AIS ship type classes (ITU-R M.1371 table 53) the filters accept by name; "other" is the rest.
SHIP_TYPE_CLASSES: dict[str, tuple[int, int]] = {
    "tanker": (80, 89), "cargo": (70, 79), "passenger": (60, 69), "fishing": (30, 30),
}
SHIP_TYPE_NAMES = (*SHIP_TYPE_CLASSES, "other")


@dataclass(frozen=True)
class BBox:
    """A lon/lat box; ``min_lon > max_lon`` means it crosses the antimeridian."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def __post_init__(self) -> None:
        values = (self.min_lon, self.min_lat, self.max_lon, self.max_lat)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ConfigError("bbox values must be finite numbers")
        if not (-180 <= self.min_lon <= 180 and -180 <= self.max_lon <= 180):
            raise ConfigError("bbox longitudes must be within -180..180")
        if not (-90 <= self.min_lat <= 90 and -90 <= self.max_lat <= 90):
            raise ConfigError("bbox latitudes must be within -90..90")
        if self.min_lat > self.max_lat:
            raise ConfigError("bbox minlat is above maxlat", hint="bbox is minlon,minlat,maxlon,maxlat")

    @classmethod
    def parse(cls, text: str) -> BBox:
        """``minlon,minlat,maxlon,maxlat`` in decimal degrees, as a web map gives its view:
        longitudes wrap into -180..180 (a view across the antimeridian, e.g. 170..190, becomes
        170..-170; one 360 degrees wide or more is the whole world), latitudes are clamped to
        -90..90 and taken in either order."""
        parts = str(text).split(",")
        if len(parts) != 4:
            raise ConfigError(f"bbox {text[:60]!r} needs four numbers",
                              hint="bbox is minlon,minlat,maxlon,maxlat, e.g. 10,54,30,66")
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"bbox {text[:60]!r} is not four numbers",
                              hint="bbox is minlon,minlat,maxlon,maxlat, e.g. 10,54,30,66") from None
        if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
            raise ConfigError("bbox values must be finite numbers")
        if min_lon <= max_lon and max_lon - min_lon >= 360:
            min_lon, max_lon = -180.0, 180.0
        else:
            min_lon, max_lon = _wrap(min_lon), _wrap(max_lon)
        lat_a, lat_b = (max(-90.0, min(90.0, v)) for v in (min_lat, max_lat))
        return cls(min_lon, min(lat_a, lat_b), max_lon, max(lat_a, lat_b))

    def sql(self, lat: str = "lat", lon: str = "lon") -> tuple[str, list[float]]:
        """A WHERE condition on the given (trusted, fixed) column names and its parameters."""
        if self.min_lon <= self.max_lon:
            return (f"({lat} BETWEEN ? AND ? AND {lon} BETWEEN ? AND ?)",
                    [self.min_lat, self.max_lat, self.min_lon, self.max_lon])
        return (f"({lat} BETWEEN ? AND ? AND ({lon} >= ? OR {lon} <= ?))",
                [self.min_lat, self.max_lat, self.min_lon, self.max_lon])

    def contains(self, lat: float, lon: float) -> bool:
        """The same test as :meth:`sql`, for one point in Python."""
        if self.min_lon <= self.max_lon:
            in_lon = self.min_lon <= lon <= self.max_lon
        else:
            in_lon = lon >= self.min_lon or lon <= self.max_lon
        return in_lon and self.min_lat <= lat <= self.max_lat


def _wrap(lon: float) -> float:
    """A longitude in -180..180 (180 stays 180, so a box may end on the antimeridian)."""
    if -180 <= lon <= 180:
        return lon
    return (lon + 180) % 360 - 180


def utc_naive(stamp: dt.datetime | None) -> dt.datetime | None:
    """The store keeps naive UTC times: aware times are converted, naive ones taken as UTC."""
    if stamp is None or stamp.tzinfo is None:
        return stamp
    try:
        return stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise ConfigError(f"time {stamp.isoformat()} is out of range") from None


def like_pattern(text: str) -> str:
    """``%text%`` for ``ILIKE ? ESCAPE '\\'``, with the user's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ship_type_ranges(value: str | int) -> tuple[list[tuple[int, int]], bool]:
    """A ship type class name or an AIS ship type code (0-99) as ranges of codes and whether the
    type is outside them ("other": a vessel without a type is "other" too)."""
    text = str(value).strip().lower()
    if text in SHIP_TYPE_CLASSES:
        return [SHIP_TYPE_CLASSES[text]], False
    if text == "other":
        return list(SHIP_TYPE_CLASSES.values()), True
    if text.isdigit() and 0 <= int(text) <= 99:
        return [(int(text), int(text))], False
    raise ConfigError(f"unknown ship type {str(value)[:40]!r}",
                      hint=f"use one of {', '.join(SHIP_TYPE_NAMES)} or an AIS code 0-99")


def ship_type_sql(value: str | int, column: str = "ship_type") -> tuple[str, list[int]]:
    """A condition for a ship type class name or an AIS ship type code (0-99)."""
    ranges, outside = ship_type_ranges(value)
    if outside:
        inside = " OR ".join(f"{column} BETWEEN ? AND ?" for _ in ranges)
        return f"NOT coalesce({inside}, FALSE)", [v for pair in ranges for v in pair]
    (low, high), = ranges
    if low == high:
        return f"{column} = ?", [low]
    return f"{column} BETWEEN ? AND ?", [low, high]


_RELATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


def relation(name: str) -> str:
    """A table name chosen by code (the store's ``positions``, or a copy of it such as the web
    server keeps, ordered by vessel and time), checked before it goes into SQL text."""
    if not isinstance(name, str) or not _RELATION.fullmatch(name):
        raise ValueError(f"not a table name: {str(name)[:60]!r}")
    return name


def positions_where(*, mmsi: int | None = None, since: dt.datetime | None = None,
                    until: dt.datetime | None = None, bbox: BBox | None = None) -> tuple[str, list[object]]:
    """The condition (and its bound values) selecting positions of one vessel, inside a time
    window and a bbox; every part optional."""
    where, args = ["TRUE"], []
    if mmsi is not None:
        where.append("mmsi = ?")
        args.append(mmsi)
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts <= ?")
        args.append(until)
    if bbox is not None:
        condition, values = bbox.sql()
        where.append(condition)
        args += values
    return " AND ".join(where), args
