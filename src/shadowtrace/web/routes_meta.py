"""Health, lists, ingests, search and the reference map layers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from shadowtrace.layers import basemap_path, sts_areas_geojson, terminals_geojson
from shadowtrace.overview import list_ingests, lists_overview
from shadowtrace.vessels import search_vessels
from shadowtrace.web.deps import Con, Limit, Offset, StoreDep
from shadowtrace.web.models import Health, IngestPage, ListItem, PointCollection, SearchHit
from shadowtrace.web.responses import GeoJSONResponse

router = APIRouter(prefix="/api", tags=["store"])

# The basemap files are served as they ship; their schema is GeoJSON's, not ours.
_BASEMAP = {200: {"description": "Natural Earth 110m GeoJSON FeatureCollection",
                  "content": {"application/geo+json": {"schema": {
                      "type": "object", "required": ["type", "features"],
                      "properties": {"type": {"const": "FeatureCollection"},
                                     "features": {"type": "array", "items": {"type": "object"}}}}}}}}
_LAYER_CACHE = {"Cache-Control": "private, max-age=86400"}


@router.get("/health", response_model=Health, summary="What the store holds")
async def health(store: StoreDep) -> dict:
    return store.health()  # counted once at opening: the store cannot change while served


@router.get("/lists", response_model=list[ListItem], summary="Loaded sanctions and watch lists")
def lists(con: Con) -> list[dict]:
    return lists_overview(con)


@router.get("/ingests", response_model=IngestPage, summary="Ingests, newest first")
def ingests(con: Con, limit: Limit = 50, offset: Offset = 0) -> dict:
    rows, total = list_ingests(con, limit=limit, offset=offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/search", response_model=list[SearchHit], summary="Vessels by MMSI, IMO or broadcast name")
def search(
    con: Con,
    store: StoreDep,
    q: Annotated[str, Query(min_length=1, max_length=100, pattern=r"\S",
                            description="MMSI or IMO (prefix) or part of a name")],
    limit: Annotated[int, Query(ge=1, le=20)] = 20,
) -> list[dict]:
    return search_vessels(con, q, limit, positions=store.positions)


@router.get("/layers/terminals", response_model=PointCollection, response_class=GeoJSONResponse,
            summary="Russian crude and product export terminals")
def terminals() -> GeoJSONResponse:
    return GeoJSONResponse(terminals_geojson(), headers=_LAYER_CACHE)


@router.get("/layers/sts_areas", response_model=PointCollection, response_class=GeoJSONResponse,
            summary="Known ship-to-ship transfer areas (radius_km)")
def sts_areas() -> GeoJSONResponse:
    return GeoJSONResponse(sts_areas_geojson(), headers=_LAYER_CACHE)


def _basemap(name: str) -> FileResponse:
    return FileResponse(basemap_path(name), media_type="application/geo+json", headers=_LAYER_CACHE)


@router.get("/layers/land", response_class=FileResponse, responses=_BASEMAP, summary="Natural Earth land")
def land() -> FileResponse:
    return _basemap("land")


@router.get("/layers/coastlines", response_class=FileResponse, responses=_BASEMAP,
            summary="Natural Earth coastlines")
def coastlines() -> FileResponse:
    return _basemap("coastlines")
