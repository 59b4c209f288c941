"""/api/vessels: the ranked list, one vessel's summary, its track and its dossier."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shadowtrace.filters import SHIP_TYPE_NAMES
from shadowtrace.report.dossier import render_dossier
from shadowtrace.tracks_geo import track_geojson
from shadowtrace.vessels import VesselRanking, vessel_profile
from shadowtrace.web.deps import (
    BBoxText,
    Con,
    EventType,
    Limit,
    Offset,
    Since,
    Store,
    StoreDep,
    Until,
    naive_time,
    parse_bbox,
)
from shadowtrace.web.models import Track, VesselPage, VesselSummary, error_doc
from shadowtrace.web.responses import GeoJSONResponse

router = APIRouter(prefix="/api/vessels", tags=["vessels"])

MmsiPath = Annotated[int, Path(ge=1, le=999_999_999, description="the vessel's MMSI")]
_NOT_FOUND: dict[int | str, dict] = {404: error_doc("no such vessel")}
SHIP_TYPE_PATTERN = "^(" + "|".join(SHIP_TYPE_NAMES) + r"|\d{1,2})$"


@router.get("", response_model=VesselPage, summary="Vessels ranked by risk score")
async def list_vessels(
    store: StoreDep,
    limit: Limit = 50,
    offset: Offset = 0,
    min_score: Annotated[float, Query(ge=0, le=100)] = 0.0,
    max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    list_name: Annotated[str | None, Query(alias="list", min_length=1, max_length=100,
                                           description="name of a loaded list the vessel matched")] = None,
    flag: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166 alpha-2")] = None,
    ship_type: Annotated[str | None, Query(pattern=SHIP_TYPE_PATTERN,
                                           description="a class or an AIS ship type code 0-99")] = None,
    event_type: Annotated[EventType | None, Query(description="has at least one such event")] = None,  # type: ignore[valid-type]
    bbox: BBoxText = None,
    since: Since = None,
    until: Until = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="name, IMO or MMSI")] = None,
) -> Response:
    caches = store.caches
    filters = {"limit": limit, "offset": offset, "min_score": min_score, "max_score": max_score,
               "list_name": list_name, "flag": flag, "ship_type": ship_type,
               "event_type": event_type.value if event_type else None, "bbox": parse_bbox(bbox),
               "since": naive_time(since, "since"), "until": naive_time(until, "until"),
               "q": q if q is None or q.strip() else None, "positions": store.positions}
    if any(filters[k] is not None for k in ("bbox", "since", "until", "q")):
        # These read positions or static reports: a query, on a worker thread.
        page, total = await run_in_threadpool(_select_in_store, store, caches.ranking, filters)
    else:
        page, total = caches.ranking.select(**filters)  # in memory: well under a millisecond
    # The rows come rendered (computed once per store); the page is what the response model
    # renders from them, byte for byte.
    items = b",".join([caches.list_rows[i] for i in page])
    return Response(b'{"items":[%b],"total":%d,"limit":%d,"offset":%d}' % (items, total, limit, offset),
                    media_type="application/json")


def _select_in_store(store: Store, ranking: VesselRanking, filters: dict) -> tuple[np.ndarray, int]:
    cur = store.cursor()
    try:
        out = ranking.select(cur, **filters)
    except BaseException:
        store.release(cur, reuse=False)
        raise
    store.release(cur)
    return out


@router.get("/{mmsi}", response_model=VesselSummary, responses=_NOT_FOUND,
            summary="One vessel: identity history, risk, list matches, exposures, events")
async def get_vessel(store: StoreDep, mmsi: MmsiPath) -> dict:
    return store.vessels.get(mmsi)  # every vessel's summary is computed when the store is opened


@router.get("/{mmsi}/track", response_model=Track, response_class=GeoJSONResponse, responses=_NOT_FOUND,
            summary="The vessel's track as GeoJSON, thinned to the zoom level")
async def get_track(
    store: StoreDep,
    mmsi: MmsiPath,
    since: Since = None,
    until: Until = None,
    zoom: Annotated[float, Query(ge=0, le=22, description="map zoom: about 250 x 2^(zoom/2) vertices")] = 5.0,
) -> GeoJSONResponse:
    args = {"since": naive_time(since, "since"), "until": naive_time(until, "until"), "zoom": zoom,
            "positions": store.positions, "arrays": store.caches.arrays}
    if args["arrays"] is not None and args["arrays"].knows(mmsi):
        # From the arrays in memory: no query, nothing to wait for (a few ms of numpy and JSON),
        # so on the event loop rather than a worker thread contending for the GIL.
        doc = track_geojson(None, mmsi, **args)
    else:
        doc = await run_in_threadpool(_track_in_store, store, mmsi, args)
    # Returned as built (plain floats, ints and strings, the shape of `Track`): validating
    # thousands of vertices again through the model would cost more than reading them.
    return GeoJSONResponse(doc)


def _track_in_store(store: Store, mmsi: int, args: dict) -> dict:
    cur = store.cursor()
    try:
        doc = track_geojson(cur, mmsi, **args)
    except BaseException:
        store.release(cur, reuse=False)
        raise
    store.release(cur)
    return doc


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _dossier_policy(html: str) -> str:
    """A CSP that lets exactly the dossier's own inline scripts run (by hash) and nothing else
    load: list and AIS text in the page is escaped, and this is the second fence."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                      for s in _SCRIPT.findall(html))
    return ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src {hashes or chr(39) + 'none' + chr(39)}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'self'")


@router.get("/{mmsi}/dossier.html", response_class=HTMLResponse,
            responses={**_NOT_FOUND, 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                                           "description": "the self-contained evidence dossier"}},
            summary="The vessel's evidence dossier (self-contained HTML)")
def get_dossier(con: Con, store: StoreDep, mmsi: MmsiPath) -> HTMLResponse:
    html = render_dossier(vessel_profile(con, mmsi, positions=store.positions))
    return HTMLResponse(html, headers={"Content-Security-Policy": _dossier_policy(html)})
