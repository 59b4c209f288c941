"""/api/events: filtered events (JSON page, GeoJSON or CSV) and one event with its evidence."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from shadowtrace.export import count_events, event_rows, events_csv, events_geojson, query_events
from shadowtrace.vessels import event_with_evidence
from shadowtrace.web.deps import (
    BBoxText,
    Con,
    EventType,
    Limit,
    Mmsi,
    Offset,
    Since,
    Until,
    naive_time,
    parse_bbox,
)
from shadowtrace.web.models import EventDetail, EventPage, error_doc
from shadowtrace.web.responses import GeoJSONResponse

router = APIRouter(prefix="/api/events", tags=["events"])

EVENT_ID_PATTERN = "^[0-9a-f]{1,64}$"

# One operation, three media types; /openapi.json gets all three (EventCollection is added to
# the components by app.py).
_LIST_RESPONSES: dict[int | str, dict] = {200: {
    "description": "json: a page of events; geojson: a FeatureCollection of Points; csv: a download",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/EventPage"}},
        "application/geo+json": {"schema": {"$ref": "#/components/schemas/EventCollection"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}}


@router.get("", response_model=EventPage, responses=_LIST_RESPONSES, summary="Events, filtered")
def list_events(
    con: Con,
    type_: Annotated[list[EventType] | None, Query(alias="type", description="event type (repeatable)")] = None,  # type: ignore[valid-type]
    mmsi: Annotated[Mmsi | None, Query(description="either side of an encounter")] = None,
    since: Since = None,
    until: Until = None,
    bbox: BBoxText = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    format_: Annotated[Literal["json", "geojson", "csv"], Query(alias="format")] = "json",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    filters = {"types": [t.value for t in type_] if type_ else None, "mmsi": mmsi,
               "since": naive_time(since, "since"), "until": naive_time(until, "until"),
               "bbox": parse_bbox(bbox), "min_confidence": min_confidence}
    total = count_events(con, **filters)
    table = query_events(con, **filters, limit=limit, offset=offset)
    paging = {"total": total, "limit": limit, "offset": offset}
    # Exports are capped at `limit` too; the header says how many matched in all.
    headers = {"X-Total-Count": str(total)}
    if format_ == "csv":
        buffer = io.StringIO()
        events_csv(table, buffer)
        headers["Content-Disposition"] = 'attachment; filename="events.csv"'
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    if format_ == "geojson":
        return GeoJSONResponse({**events_geojson(table), **paging}, headers=headers)
    page = EventPage.model_validate({"items": event_rows(table), **paging})
    return JSONResponse(page.model_dump(mode="json"), headers=headers)


@router.get("/{event_id}", response_model=EventDetail,
            responses={404: error_doc("no such event")},
            summary="One event with both vessels and the stored rows it cites")
def get_event(con: Con, event_id: Annotated[str, Path(pattern=EVENT_ID_PATTERN)]) -> dict:
    return event_with_evidence(con, event_id)
