"""Response models: they make /openapi.json precise (and the property tests check answers against it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema


def _utc_text(value: dt.datetime) -> str:
    # Stored times are naive UTC; say so, or a browser's Date() reads them as local time.
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


UtcTime = Annotated[dt.datetime, PlainSerializer(_utc_text, return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time"})]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------


class FieldError(_Model):
    field: str = Field(description="the parameter, e.g. query.limit")
    message: str


class ErrorBody(_Model):
    code: Literal["bad_request", "invalid_parameter", "unauthorized", "not_found", "method_not_allowed",
                  "payload_too_large", "uri_too_long", "store_error", "internal"]
    message: str
    details: list[FieldError] | None = None


class ErrorResponse(_Model):
    error: ErrorBody


def error_doc(description: str) -> dict[str, Any]:
    """An error response for the `responses` of a route: always JSON, whatever the route's
    own media type (app.py puts ErrorResponse into the components)."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}


# --- meta --------------------------------------------------------------------------------


class Health(_Model):
    status: Literal["ok"]
    schema_version: int
    positions: int
    vessels: int = Field(description="distinct MMSIs with a position or a static report")
    events: int
    lists: int
    scored_vessels: int = Field(description="vessels with a risk score above 0")


class ListItem(_Model):
    name: str
    format: str
    kind: str
    entities: int
    vessels: int
    designated: int
    links: int
    loaded_at: UtcTime
    fingerprint: str


class IngestItem(_Model):
    ingest_id: int
    source: str
    format: str
    status: str
    started_at: UtcTime
    finished_at: UtcTime | None
    lines_read: int | None
    positions_read: int | None
    positions_added: int | None
    reports_read: int | None
    reports_added: int | None
    duplicates: int | None
    rejects: int | None
    vessels: int | None
    ts_min: UtcTime | None
    ts_max: UtcTime | None


class IngestPage(_Model):
    items: list[IngestItem]
    total: int
    limit: int
    offset: int


class SearchHit(_Model):
    mmsi: int
    name: str | None
    imo: int | None
    score: float | None
    matched: Literal["mmsi", "imo", "name"]


# --- GeoJSON -----------------------------------------------------------------------------


class PointGeometry(_Model):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class LineGeometry(_Model):
    type: Literal["LineString"]
    coordinates: list[list[float]] = Field(min_length=2)


class PointFeature(_Model):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: PointGeometry | None
    properties: dict[str, Any]


class PointCollection(_Model):
    type: Literal["FeatureCollection"]
    features: list[PointFeature]


class EventCollection(PointCollection):
    total: int
    limit: int
    offset: int


class TrackProperties(_Model):
    mmsi: int
    stretch: int = Field(description="0, 1, ... in time order")
    times: list[str] = Field(description="ISO time (UTC) of each vertex")
    sog: list[float | None] = Field(description="speed over ground (kn) at each vertex")


class TrackFeature(_Model):
    type: Literal["Feature"]
    geometry: LineGeometry
    properties: TrackProperties


class Track(_Model):
    type: Literal["FeatureCollection"]
    features: list[TrackFeature]
    mmsi: int
    total_positions: int = Field(description="positions in the window before thinning")
    vertices: int = Field(description="vertices kept: evenly spread, plus the ends of each stretch")


# --- vessels -----------------------------------------------------------------------------


class Reason(BaseModel):
    feature: str
    points: float
    text: str
    evidence: dict[str, Any] | None = None


class VesselRow(_Model):
    rank: int = Field(description="place in the whole ranking (filters do not renumber)")
    mmsi: int
    name: str | None
    imo: int | None
    flag: str | None = Field(description="ISO 3166 alpha-2 (lower case) of the MMSI's MID")
    ship_type: int | None
    score: float
    lists: list[str]
    reasons: list[Reason] = Field(description="the top 3 reasons")


class VesselPage(_Model):
    items: list[VesselRow]
    total: int
    limit: int
    offset: int


class IdentityUse(_Model):
    kind: str
    value: str
    first: UtcTime
    last: UtcTime
    reports: int
    evidence: str


class Risk(_Model):
    score: float
    reasons: list[Reason]


class Match(_Model):
    match_id: str
    list: str
    list_kind: str
    entity_id: str
    caption: str | None
    sanctioned: bool
    programs: list[str] | None
    listed_since: str | None
    score: float
    matched_on: list[str]
    summary: str | None
    evidence: Any
    conflicts: Any
    source_ref: str | None
    flag: str | None


class Exposure(_Model):
    exposure_id: str
    kind: str
    entity_id: str | None
    percent: float | None
    event_id: str | None
    text: str | None
    details: dict[str, Any]


class VesselEvent(_Model):
    event_id: str
    type: str
    other_mmsi: int | None
    start: UtcTime
    end: UtcTime
    lat: float | None
    lon: float | None
    confidence: float
    details: dict[str, Any]


class VesselSummary(_Model):
    mmsi: int
    name: str | None
    imo: int | None
    flag: str | None
    first_seen: UtcTime | None
    last_seen: UtcTime | None
    risk: Risk | None
    identity_history: list[IdentityUse]
    matches: list[Match]
    exposures: list[Exposure]
    events: list[VesselEvent]


# --- events ------------------------------------------------------------------------------


class Event(_Model):
    event_id: str
    type: str
    mmsi: int
    other_mmsi: int | None
    start: UtcTime
    end: UtcTime
    lat: float | None
    lon: float | None
    confidence: float
    details: dict[str, Any]


class EventPage(_Model):
    items: list[Event]
    total: int
    limit: int
    offset: int


class VesselBrief(_Model):
    mmsi: int
    name: str | None
    imo: int | None
    score: float | None


class EvidenceRow(_Model):
    kind: Literal["position", "report"]
    ingest_id: int
    source_line: int
    mmsi: int
    ts: UtcTime
    lat: float | None
    lon: float | None
    sog: float | None
    cog: float | None
    name: str | None
    imo: int | None
    callsign: str | None
    draught: float | None
    raw: str | None
    source: str


class EventDetail(Event):
    vessel: VesselBrief
    other_vessel: VesselBrief | None
    evidence: list[EvidenceRow]
