"""One vessel's evidence dossier: a single self-contained HTML page (optionally a PDF).

Everything shown comes from :func:`shadowtrace.vessels.vessel_profile`. The page carries no
external references at all (no fonts, scripts, images or styles from elsewhere), so it can be
archived, mailed and opened offline; list and AIS text is untrusted and always autoescaped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from shadowtrace.errors import ConfigError
from shadowtrace.geo.mid import flag_for_mmsi
from shadowtrace.report.figures import build_map, build_timeline, event_colour, event_label

# Details keys that are bookkeeping, not findings: left out of the one-line summary.
_HIDDEN_KEYS = {"positions", "reports", "track_id", "other_track_id", "bins", "interpolated_bins"}
_EXPOSURE_LABELS = {"ownership": "Ownership", "sts_with_listed": "STS with listed vessel",
                    "sanctioned_terminal": "Call at sanctioned terminal"}
_LINK_LABELS = {"operator": "operated by", "manager": "managed by", "directorship": "directed by"}


def shadowtrace_version() -> str:
    import shadowtrace

    version = getattr(shadowtrace, "__version__", None)
    if version:
        return str(version)
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("shadowtrace")
    except PackageNotFoundError:
        return "unknown"


# --- formatting ----------------------------------------------------------------------------


def fmt_ts(value: str | None) -> str:
    """Stored times are naive UTC ISO strings; shown to the second, without the 'T'."""
    if not value:
        return "—"
    return str(value).replace("T", " ")[:19]


def fmt_duration(start: str, end: str) -> str:
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _metres(value: Any) -> str:
    metres = float(value)
    return f"{metres:,.0f} m" if metres < 10_000 else f"{metres / 1000:,.1f} km"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _scalar(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key.endswith("_m") and isinstance(value, int | float) and not isinstance(value, bool):
        return _metres(value) if not key.endswith(("before_m", "after_m", "delta_m")) else f"{value:g} m"
    if key.endswith("_kn") and isinstance(value, int | float):
        return f"{value:g} kn"
    if key.endswith("_hours") and isinstance(value, int | float):
        return f"{value:g} h"
    if isinstance(value, list):
        return ", ".join(_number(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_number(v)}" for k, v in value.items() if v is not None)
    return _number(value)


def key_details(kind: str, details: dict[str, Any]) -> str:
    """The two to four facts a reader wants first, per event type."""
    d = details
    if kind == "draught_change" and "before_m" in d:
        where = "at sea" if d.get("at_sea") else f"in port {d.get('port_name') or d.get('port_id') or ''}".strip()
        return f"{d['before_m']:g} m → {d.get('after_m', 0):g} m, {where}"
    if kind == "port_call":
        port = d.get("port_name") or d.get("port_id") or "unknown port"
        flag = ", sanctioned terminal" if d.get("sanctioned_terminal") else ""
        return f"{port} ({d.get('country') or '?'}){flag}"
    if kind == "identity_change":
        before, after = d.get("before") or {}, d.get("after") or {}
        changed = d.get("changed") or []
        parts = [f"{f}: {before.get(f)} → {after.get(f)}" for f in changed]
        return f"{d.get('kind') or 'change'}; " + "; ".join(parts) if parts else str(d.get("kind") or "")
    if kind == "invalid_identity":
        return ", ".join(str(p).replace("_", " ") for p in d.get("problems") or []) or "—"
    wanted = {
        "ais_gap": ("duration_hours", "distance_m", "implied_speed_kn"),
        "encounter": ("min_distance_m", "mean_distance_m", "mean_speed_kn", "nearest_port_m"),
        "loitering": ("mean_speed_kn", "positions_count", "nearest_port_m"),
        "teleport": ("jump_distance_m", "implied_speed_kn", "excursion_minutes"),
        "position_on_land": ("positions_count", "duration_minutes", "nearest_port_m"),
        "identity_conflict": ("distance_m", "overlap_hours", "alternations"),
    }.get(kind)
    keys = [k for k in wanted if k in d] if wanted else \
        [k for k, v in d.items() if k not in _HIDDEN_KEYS and not isinstance(v, dict | list)][:4]
    return "; ".join(f"{_label(k)} {_scalar(k, d[k])}" for k in keys)


def _label(key: str) -> str:
    """'mean_speed_kn' -> 'mean speed': the unit goes with the value."""
    for unit in ("_kn", "_m", "_hours"):
        if key.endswith(unit):
            key = key[: -len(unit)]
            break
    return key.replace("_", " ")


def ref_label(ref: Any, sources: dict[int, str]) -> str:
    """'ingest:line' as 'file:line' when the ingest's file is known."""
    ingest, _, line = str(ref).partition(":")
    if ingest.isdigit() and line.isdigit() and int(ingest) in sources:
        return f"{sources[int(ingest)]}:{line}"
    return str(ref) if ref is not None else "—"


def _risk_band(score: float) -> tuple[str, str]:
    if score >= 75:
        return "very high", "#b3261e"
    if score >= 50:
        return "high", "#d9480f"
    if score >= 25:
        return "medium", "#c99700"
    return "low", "#2f7d32"


# --- view model ----------------------------------------------------------------------------


def _evidence_links(evidence: dict[str, Any], anchors: set[str]) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    prefixes = {"events": "event", "matches": "match", "exposures": "exposure"}
    for kind, ids in (evidence or {}).items():
        for item in ids if isinstance(ids, list) else [ids]:
            prefix = prefixes.get(kind)
            anchor = f"{prefix}-{item}" if prefix else None
            out.append({"label": f"{prefix or kind} {item}",
                        "href": f"#{anchor}" if anchor and anchor in anchors else None})
    return out


def _counterpart(event: dict[str, Any], mmsi: int, rows: list[dict[str, Any]]) -> str:
    other = event.get("other_mmsi")
    if other is None:
        return "—"
    if int(other) != mmsi:
        return f"MMSI {other}"
    # The event was recorded on the other vessel; its MMSI is in the evidence rows.
    others = sorted({int(r["mmsi"]) for r in rows if r.get("mmsi") is not None and int(r["mmsi"]) != mmsi})
    return ", ".join(f"MMSI {m}" for m in others) if others else "the other vessel in this event"


def _match_evidence(evidence: Any, sources: dict[int, str]) -> list[dict[str, str]]:
    rows = []
    for field_name, value in (evidence or {}).items() if isinstance(evidence, dict) else []:
        if isinstance(value, dict):
            extra = []
            for k, v in value.items():
                if k in ("ais", "list") or v is None:
                    continue
                extra.append(f"{k}: {ref_label(v, sources) if k == 'evidence' else _scalar(k, v)}")
            rows.append({"field": field_name, "ais": _scalar("", value.get("ais")),
                         "list": _scalar("", value.get("list")), "more": "; ".join(extra)})
        else:
            rows.append({"field": field_name, "ais": _scalar("", value), "list": "—", "more": ""})
    return rows


def _ownership_view(exposure: dict[str, Any], captions: dict[str, str]) -> dict[str, Any]:
    details: dict[str, Any] = exposure.get("details") or {}
    vessel_id = str(details.get("vessel_entity_id") or "vessel")
    nodes: list[dict[str, Any]] = [{"name": captions.get(vessel_id, vessel_id), "schema": "Vessel",
                                    "sanctioned": None, "lists": "", "link": None}]
    for step in details.get("path") or []:
        kind, percent = step.get("link"), step.get("percent")
        if kind == "ownership":
            link = f"owned {percent:g}% by" if percent is not None else "owned (percent unknown) by"
        else:
            link = _LINK_LABELS.get(kind, f"{kind} link to")
        if step.get("role"):
            link += f" ({step['role']})"
        nodes.append({"name": step.get("name") or step.get("entity_id"), "schema": step.get("schema") or "",
                      "sanctioned": bool(step.get("sanctioned")), "lists": ", ".join(step.get("lists") or []),
                      "link": link, "unknown": kind == "ownership" and percent is None})
    rule = details.get("fifty_percent_rule")
    if rule is True:
        outcome = ("blocked", "Blocked under the 50% rule: every ownership step is 50% or more.")
    elif rule is False:
        outcome = ("minority", "Not blocked by the 50% rule alone: the sanctioned party holds less than "
                               "50% at some step.")
    else:
        outcome = ("unknown", "50% rule cannot be applied: a share is unknown or the chain includes a "
                              "control link (operator, manager, director) without a share.")
    share = details.get("aggregate_blocked_share_of_vessel")
    return {"nodes": nodes, "outcome": outcome[0], "outcome_text": outcome[1], "text": exposure.get("text"),
            "aggregate": f"{share:g}%" if isinstance(share, int | float) else None,
            "depth": details.get("depth")}


def build_context(profile: dict[str, Any], generated_at: datetime) -> dict[str, Any]:
    mmsi = int(profile["mmsi"])
    evidence: dict[str, list[dict[str, Any]]] = profile.get("evidence_rows") or {}
    sources = {int(r["ingest_id"]): str(r["source"]) for rows in evidence.values() for r in rows
               if r.get("ingest_id") is not None and r.get("source")}
    events = profile.get("events") or []
    matches = profile.get("matches") or []
    exposures = profile.get("exposures") or []
    anchors = ({f"event-{e['event_id']}" for e in events} | {f"match-{m['match_id']}" for m in matches}
               | {f"exposure-{x['exposure_id']}" for x in exposures})

    risk = profile.get("risk")
    risk_view = None
    if risk:
        score = float(risk.get("score") or 0.0)
        band, colour = _risk_band(score)
        risk_view = {"score": f"{score:g}", "width": max(0.0, min(100.0, score)), "band": band,
                     "colour": colour,
                     "reasons": [{"feature": r.get("feature"), "points": f"{float(r.get('points') or 0):g}",
                                  "text": r.get("text"), "links": _evidence_links(r.get("evidence") or {}, anchors)}
                                 for r in risk.get("reasons") or []]}

    identity = [{**h, "first": fmt_ts(h.get("first")), "last": fmt_ts(h.get("last")),
                 "evidence": ref_label(h.get("evidence"), sources) if h.get("evidence") else "—"}
                for h in profile.get("identity_history") or []]

    captions = {m["entity_id"]: m.get("caption") or m["entity_id"] for m in matches}
    match_views = []
    for m in matches:
        match_views.append({
            **m, "score": f"{float(m.get('score') or 0):.2f}",
            "programs": ", ".join(m.get("programs") or []) or "—",
            "matched_on": ", ".join(m.get("matched_on") or []) or "—",
            "evidence_rows": _match_evidence(m.get("evidence"), sources),
            "conflicts": m.get("conflicts") or [],
        })

    ownership = [{**x, **_ownership_view(x, captions)} for x in exposures if x.get("kind") == "ownership"]
    contacts = []
    for x in exposures:
        if x.get("kind") == "ownership":
            continue
        details = x.get("details") or {}
        event_id = x.get("event_id")
        contacts.append({
            "exposure_id": x["exposure_id"], "kind": _EXPOSURE_LABELS.get(x.get("kind"), x.get("kind")),
            "text": x.get("text") or "", "when": fmt_ts(details.get("start")),
            "party": details.get("partner") or details.get("port") or x.get("entity_id"),
            "event_id": event_id, "event_href": f"#event-{event_id}" if f"event-{event_id}" in anchors else None,
        })

    event_views = []
    for e in events:
        rows = evidence.get(e["event_id"], [])
        event_views.append({
            "event_id": e["event_id"], "type": e["type"], "label": event_label(e["type"]),
            "colour": event_colour(e["type"]), "start": fmt_ts(e.get("start")), "end": fmt_ts(e.get("end")),
            "duration": fmt_duration(e["start"], e["end"]), "counterpart": _counterpart(e, mmsi, rows),
            "confidence": f"{float(e['confidence']):.2f}" if e.get("confidence") is not None else "—",
            "position": (f"{e['lat']:.4f}, {e['lon']:.4f}" if e.get("lat") is not None and e.get("lon") is not None
                         else "—"),
            "summary": key_details(e["type"], e.get("details") or {}),
            "details_json": json.dumps(e.get("details") or {}, indent=2, ensure_ascii=False, sort_keys=True),
            "evidence": [{**r, "ts": fmt_ts(r.get("ts")), "where": ref_label(f"{r.get('ingest_id')}:{r.get('source_line')}", sources),
                          "what": (f"{r['lat']:.5f}, {r['lon']:.5f}; {_scalar('sog_kn', r.get('sog'))}"
                                   if r.get("kind") == "position" and r.get("lat") is not None
                                   else "; ".join(f"{k} {_scalar(k, r.get(k))}" for k in ("name", "imo", "callsign", "draught")
                                                  if r.get(k) is not None) or "—")}
                         for r in rows],
        })

    legend: dict[str, dict[str, str]] = {}
    for e in event_views:
        legend.setdefault(e["type"], {"label": e["label"], "colour": e["colour"]})

    track = profile.get("track") or {}
    list_sources = sorted({(m.get("list") or "?", str(m.get("source_ref") or "").rsplit(":", 1)[0] or "?")
                           for m in matches})
    return {
        "mmsi": mmsi, "name": profile.get("name") or "(no name broadcast)", "has_name": bool(profile.get("name")),
        "imo": profile.get("imo"), "flag_iso": (profile.get("flag") or "").upper() or None,
        "flag_name": flag_for_mmsi(mmsi),
        "first_seen": fmt_ts(profile.get("first_seen")), "last_seen": fmt_ts(profile.get("last_seen")),
        "risk": risk_view, "identity": identity, "matches": match_views, "ownership": ownership,
        "contacts": contacts, "events": event_views, "legend": list(legend.values()),
        "map": build_map(track, events), "timeline": build_timeline(events, profile.get("first_seen"),
                                                                   profile.get("last_seen")),
        "positions_total": track.get("total_positions", len(track.get("ts") or [])),
        "positions_drawn": len(track.get("ts") or []),
        "counts": {"matches": len(matches), "exposures": len(exposures), "events": len(events)},
        "list_sources": list_sources, "ais_sources": sorted(set(sources.values())),
        "generated_at": generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if generated_at.tzinfo else generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "version": shadowtrace_version(),
    }


# --- rendering -----------------------------------------------------------------------------


def _environment() -> Environment:
    return Environment(loader=PackageLoader("shadowtrace.report", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_dossier(profile: dict[str, Any], *, generated_at: datetime | None = None) -> str:
    """The dossier page for a :func:`vessel_profile` dict, as one self-contained HTML string."""
    context = build_context(profile, generated_at or datetime.now(UTC))
    return _environment().get_template("dossier.html.j2").render(**context)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The page references nothing; refuse any fetch so list text can never reach the network.
    raise ValueError(f"dossier PDF does not load external resources ({url[:40]})")


def write_pdf(html: str, target: Path) -> Path:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint installed but Pango missing
        raise ConfigError(f"PDF output needs WeasyPrint ({exc})", hint="pip install 'shadowtrace[pdf]'") from exc
    weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf(target)
    return target


def write_dossier(con: duckdb.DuckDBPyConnection, mmsi: int, out: Path, *, pdf: bool = False) -> Path:
    """Write the dossier of ``mmsi`` to ``out`` (HTML). With ``pdf`` also write ``out`` with
    suffix .pdf (only the PDF when ``out`` already ends in .pdf); returns the PDF's path then."""
    from shadowtrace.vessels import vessel_profile

    out = Path(out)
    if pdf:
        try:  # fail before any work when the PDF cannot be made
            import weasyprint  # noqa: F401
        except (ImportError, OSError) as exc:
            raise ConfigError(f"PDF output needs WeasyPrint ({exc})",
                              hint="pip install 'shadowtrace[pdf]'") from exc
    html = render_dossier(vessel_profile(con, mmsi))
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pdf:
        out.write_text(html, encoding="utf-8")
        return out
    if out.suffix.lower() != ".pdf":
        out.write_text(html, encoding="utf-8")
    return write_pdf(html, out.with_suffix(".pdf"))
