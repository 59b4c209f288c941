"""Alerts raised by `shadowtrace watch`: the stored ones, and a live stream (server-sent events)
when the app runs inside the watcher (`watch --serve`)."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from shadowtrace.live.alerts import RULES, list_alerts
from shadowtrace.web.deps import Con, Limit, Offset, Since, naive_time
from shadowtrace.web.errors import ApiError
from shadowtrace.web.models import error_doc

router = APIRouter(prefix="/api", tags=["alerts"])

AlertRule = StrEnum("AlertRule", [(name, name) for name in RULES])  # type: ignore[misc]
KEEPALIVE_S = 15.0
POLL_S = 0.25


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_id: str
    rule: str
    mmsi: int
    vessel_name: str | None
    imo: int | None
    event_id: str | None
    ts: str
    lat: float | None
    lon: float | None
    raised_at: str
    message: str
    details: dict[str, Any]


class AlertPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Alert]
    total: int
    limit: int
    offset: int
    live: bool  # whether /api/alerts/stream delivers new alerts (the app runs inside `watch`)


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first")
def alerts(
    request: Request,
    con: Con,
    limit: Limit = 50,
    offset: Offset = 0,
    rule: AlertRule | None = None,  # type: ignore[valid-type]
    mmsi: Annotated[int | None, Query(ge=1, le=999_999_999)] = None,
    since: Since = None,
) -> dict:
    items, total = list_alerts(con, limit=limit, offset=offset, rule=rule.value if rule else None, mmsi=mmsi,
                               since=naive_time(since, "since"))
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "live": getattr(request.app.state, "broadcast", None) is not None}


@router.get("/alerts/stream", summary="New alerts as they are raised (text/event-stream)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "`event: alert` with one alert as JSON per message"},
                       404: error_doc("this server has no live feed (it is not `watch --serve`)")})
async def stream(request: Request) -> StreamingResponse:
    broadcast = getattr(request.app.state, "broadcast", None)
    if broadcast is None:
        raise ApiError(404, "this server has no live feed: alerts stream from `shadowtrace watch --serve`")
    subscriber = broadcast.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield ": live\n\n"
            idle = 0.0
            while not await request.is_disconnected():
                try:
                    alert = subscriber.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(POLL_S)
                    idle += POLL_S
                    if idle >= KEEPALIVE_S:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                idle = 0.0
                yield f"event: alert\nid: {alert['alert_id']}\ndata: {json.dumps(alert, default=str)}\n\n"
        finally:
            broadcast.unsubscribe(subscriber)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
