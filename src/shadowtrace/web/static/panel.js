// The right-hand panel: a vessel's profile (with track replay and events timeline) and the
// view of one event with its evidence rows. Presentation only: the API decides everything.

import { api } from "./api.js";
import {
  fmtDuration, fmtLatLon, fmtNumber, fmtTime, fmtValue, h, label, parseTime, scoreBadge,
} from "./dom.js";
import { eventColor, eventLabel } from "./theme.js";

const vesselHref = (mmsi) => `#/vessel/${encodeURIComponent(mmsi)}`;
const eventHref = (eventId) => `#/event/${encodeURIComponent(eventId)}`;

function section(title, testid, ...children) {
  return h("section", { class: "panel-section", "data-testid": testid },
    h("h3", null, title), ...children);
}

function keyValueTable(rows, testid) {
  return h("table", { class: "kv", "data-testid": testid },
    h("tbody", null, rows.filter(Boolean).map(([key, value]) =>
      h("tr", null, h("th", { scope: "row" }, key), h("td", null, value)))));
}

function typeChip(type) {
  return h("span", { class: "type-chip" },
    h("span", { class: "dot", style: { background: eventColor(type) } }), eventLabel(type));
}

function basename(path) {
  return String(path ?? "").split(/[\\/]/).pop() || "–";
}

/** One line saying what an event is about, from its details (presentation only). */
export function eventSummary(event) {
  const d = event.details || {};
  switch (event.type) {
    case "port_call":
      return [d.port_name, d.country].filter(Boolean).join(", ") + (d.sanctioned_terminal ? " · sanctioned terminal" : "");
    case "encounter":
      return event.other_mmsi ? `with MMSI ${event.other_mmsi}` : "";
    case "draught_change":
      return d.before_m !== undefined ? `${fmtNumber(d.before_m, 1)} m → ${fmtNumber(d.after_m, 1)} m` : "";
    case "identity_change":
      return Array.isArray(d.changed) ? `changed ${d.changed.join(", ")}` : "";
    case "invalid_identity":
      return Array.isArray(d.problems) ? d.problems.join(", ").replace(/_/g, " ") : "";
    case "ais_gap":
    case "loitering":
      return d.duration_hours !== undefined ? `${fmtNumber(d.duration_hours, 1)} h` : "";
    case "teleport":
      return d.jump_distance_m !== undefined ? `jump of ${fmtValue("jump_distance_m", d.jump_distance_m)}` : "";
    default:
      return "";
  }
}

// --- track replay ---------------------------------------------------------------------------

export class Replay {
  constructor(mapView) {
    this.mapView = mapView;
    this.points = [];
    this.timer = null;
    this.slider = h("input", { type: "range", min: 0, max: 0, value: 0, step: 1, class: "replay-slider",
      "data-testid": "replay-slider", "aria-label": "Replay position", disabled: true });
    this.clock = h("span", { class: "replay-time", "data-testid": "replay-time" }, "–");
    this.speed = h("span", { class: "replay-speed" }, "");
    this.button = h("button", { type: "button", class: "btn btn-small", "data-testid": "replay-play", disabled: true }, "▶ Play");
    this.slider.addEventListener("input", () => { this.stop(); this.show(Number(this.slider.value)); });
    this.button.addEventListener("click", () => (this.timer ? this.stop() : this.play()));
    this.element = h("div", { class: "replay" },
      h("div", { class: "replay-row" }, this.button, this.slider),
      h("div", { class: "replay-row replay-meta" }, this.clock, this.speed));
  }

  /** Every vertex of the track's stretches, in time order. */
  setTrack(collection) {
    this.stop();
    const points = [];
    for (const feature of collection?.features || []) {
      const coords = feature.geometry?.coordinates || [];
      const times = feature.properties?.times || [];
      const sog = feature.properties?.sog || [];
      coords.forEach(([lon, lat], i) => points.push({ lon, lat, time: times[i], ms: parseTime(times[i]), sog: sog[i] }));
    }
    points.sort((a, b) => a.ms - b.ms);
    this.points = points;
    this.slider.max = String(Math.max(points.length - 1, 0));
    this.slider.value = "0";
    this.slider.disabled = this.button.disabled = points.length < 2;
    this.clock.textContent = points.length ? fmtTime(points[0].time) : "no positions";
    this.speed.textContent = points.length ? `${fmtNumber(points.length)} track points` : "";
    this.mapView.setReplay(null);
  }

  show(index) {
    const point = this.points[index];
    if (!point) return;
    this.slider.value = String(index);
    this.clock.textContent = fmtTime(point.time, { seconds: true });
    this.speed.textContent = typeof point.sog === "number" ? `${fmtNumber(point.sog, 1)} kn` : "";
    this.mapView.setReplay([point.lon, point.lat]);
  }

  play() {
    if (this.points.length < 2) return;
    let index = Number(this.slider.value);
    if (index >= this.points.length - 1) index = 0;
    const step = Math.max(1, Math.round(this.points.length / 600)); // about 30 s for a whole track
    this.button.textContent = "❚❚ Pause";
    this.timer = setInterval(() => {
      index = Math.min(index + step, this.points.length - 1);
      this.show(index);
      if (index >= this.points.length - 1) this.stop();
    }, 50);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.button.textContent = "▶ Play";
  }
}

// --- vessel panel ---------------------------------------------------------------------------

function riskSection(risk) {
  if (!risk) return section("Risk", "panel-risk", h("p", { class: "muted" }, "Not scored."));
  const reasons = (risk.reasons || []).map((reason) =>
    h("li", { class: "reason" },
      h("div", { class: "reason-head" },
        h("span", { class: "reason-feature" }, label(reason.feature || "reason")),
        h("span", { class: "reason-points" }, `+${fmtNumber(reason.points, 1)}`)),
      h("div", { class: "reason-bar" }, h("span", { style: { width: `${Math.min(100, Number(reason.points) || 0)}%` } })),
      h("div", { class: "reason-text" }, reason.text || "")));
  return section("Risk", "panel-risk",
    h("div", { class: "risk-head" }, scoreBadge(risk.score, { "data-testid": "panel-score" }),
      h("span", { class: "muted" }, "risk score out of 100")),
    reasons.length ? h("ol", { class: "reasons" }, reasons) : h("p", { class: "muted" }, "No risk indicators."));
}

function timelineSection(profile, onEvent) {
  const events = profile.events || [];
  if (!events.length) return section("Events", "panel-events", h("p", { class: "muted" }, "No events."));
  let t0 = parseTime(profile.first_seen);
  let t1 = parseTime(profile.last_seen);
  for (const e of events) {
    const start = parseTime(e.start);
    const end = parseTime(e.end || e.start);
    if (!(t0 <= start)) t0 = start;
    if (!(t1 >= end)) t1 = end;
  }
  const span = Math.max(t1 - t0, 1);
  const types = [...new Set(events.map((e) => e.type))];
  const lanes = types.map((type) => {
    const bars = events.filter((e) => e.type === type).map((e) => {
      const left = ((parseTime(e.start) - t0) / span) * 100;
      const width = Math.max(((parseTime(e.end || e.start) - parseTime(e.start)) / span) * 100, 0.8);
      return h("a", { class: "tl-bar", href: eventHref(e.event_id), "data-testid": "timeline-bar",
        "data-event-id": e.event_id, title: `${eventLabel(type)} · ${fmtTime(e.start)} – ${fmtTime(e.end)}`,
        style: { left: `${Math.min(left, 99.2)}%`, width: `${Math.min(width, 100 - left)}%`, background: eventColor(type) } });
    });
    return h("div", { class: "tl-lane" }, h("span", { class: "tl-label" }, eventLabel(type)), h("div", { class: "tl-track" }, bars));
  });
  const axis = h("div", { class: "tl-axis" }, h("span", null, fmtTime(new Date(t0).toISOString())),
    h("span", null, fmtTime(new Date(t1).toISOString())));
  const rows = events.map((e) =>
    h("tr", { class: "tl-row", "data-testid": "timeline-event", "data-event-id": e.event_id, tabindex: 0,
      onclick: () => onEvent(e.event_id), onkeydown: (ev) => { if (ev.key === "Enter") onEvent(e.event_id); } },
    h("td", null, h("span", { class: "dot", style: { background: eventColor(e.type) } })),
    h("td", null, h("div", { class: "tl-type" }, eventLabel(e.type)), h("div", { class: "muted small" }, eventSummary(e))),
    h("td", { class: "nowrap" }, fmtTime(e.start), h("div", { class: "muted small" }, fmtDuration(e.start, e.end)))));
  return section(`Events (${events.length})`, "panel-events",
    h("div", { class: "timeline", "data-testid": "timeline" }, lanes, axis),
    h("table", { class: "tl-table" }, h("tbody", null, rows)));
}

function matchCard(match) {
  const evidence = Object.entries(match.evidence || {}).map(([field, value]) => {
    const v = value && typeof value === "object" ? value : { ais: value };
    return h("tr", null, h("th", { scope: "row" }, label(field)), h("td", null, fmtValue(field, v.ais)),
      h("td", null, fmtValue(field, v.list)));
  });
  const conflicts = (match.conflicts || []).map((c) =>
    h("li", null, typeof c === "string" ? c : fmtValue("", c)));
  return h("article", { class: "match", "data-testid": "panel-match" },
    h("header", { class: "match-head" },
      h("span", { class: `tag ${match.sanctioned ? "tag-danger" : "tag-neutral"}` }, match.list_kind || "list"),
      h("strong", null, match.caption || match.entity_id || "–"),
      h("span", { class: "match-score", title: "match score" }, `${fmtNumber((Number(match.score) || 0) * 100, 0)}%`)),
    h("div", { class: "muted small" },
      [`list ${match.list}`, (match.programs || []).join(", "), match.listed_since && `listed since ${match.listed_since}`]
        .filter(Boolean).join(" · ")),
    match.summary ? h("p", { class: "match-summary" }, match.summary) : null,
    evidence.length ? h("table", { class: "grid compact" },
      h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "AIS"), h("th", null, "List"))),
      h("tbody", null, evidence)) : null,
    conflicts.length ? h("div", { class: "conflicts" }, h("strong", null, "Conflicts"), h("ul", null, conflicts)) : null);
}

function identitySection(history) {
  if (!history?.length) return null;
  const counts = {};
  for (const row of history) counts[row.kind] = (counts[row.kind] || 0) + 1;
  return section("Identity history", "panel-identity",
    h("table", { class: "grid compact" },
      h("thead", null, h("tr", null, ["Field", "Value", "First", "Last", "Reports"].map((t) => h("th", null, t)))),
      h("tbody", null, history.map((row) =>
        h("tr", { class: counts[row.kind] > 1 ? "changed" : null },
          h("td", null, label(row.kind)), h("td", { class: "mono" }, row.value ?? "–"),
          h("td", { class: "nowrap" }, fmtTime(row.first)), h("td", { class: "nowrap" }, fmtTime(row.last)),
          h("td", { class: "num" }, fmtNumber(row.reports)))))));
}

export function renderVessel(root, profile, { replay, onEvent, onFit, onClose }) {
  const identity = [
    `MMSI ${profile.mmsi}`,
    profile.imo ? `IMO ${profile.imo}` : null,
    profile.flag ? `flag ${String(profile.flag).toUpperCase()}` : null,
  ].filter(Boolean).join(" · ");
  const seen = profile.first_seen ? `seen ${fmtTime(profile.first_seen)} – ${fmtTime(profile.last_seen)}` : "";
  const matches = profile.matches || [];
  const exposures = profile.exposures || [];
  root.replaceChildren(
    h("header", { class: "panel-head" },
      h("div", { class: "panel-title" },
        h("div", { class: "eyebrow" }, "Vessel"),
        h("h2", { "data-testid": "panel-name" }, profile.name || "(no name broadcast)"),
        h("div", { class: "muted", "data-testid": "panel-identity-line" }, identity),
        seen ? h("div", { class: "muted small" }, seen) : null),
      h("button", { type: "button", class: "icon-btn", title: "Close", "aria-label": "Close", "data-testid": "panel-close", onclick: onClose }, "×")),
    h("div", { class: "panel-actions" },
      h("button", { type: "button", class: "btn", "data-testid": "fit-track", onclick: onFit }, "Fit track"),
      h("a", { class: "btn", href: api.dossierUrl(profile.mmsi), target: "_blank", rel: "noopener", "data-testid": "dossier-link" },
        "Evidence dossier ↗")),
    section("Track replay", "panel-replay", replay.element),
    riskSection(profile.risk),
    timelineSection(profile, onEvent),
    matches.length ? section(`List matches (${matches.length})`, "panel-matches", matches.map(matchCard)) : null,
    exposures.length ? section(`Exposures (${exposures.length})`, "panel-exposures",
      h("ul", { class: "plain" }, exposures.map((x) => h("li", null,
        h("span", { class: "tag tag-neutral" }, label(x.kind || "exposure")), " ", x.text || x.entity_id || "",
        x.event_id ? [" ", h("a", { href: eventHref(x.event_id) }, "event")] : null)))) : null,
    identitySection(profile.identity_history));
}

// --- event view -----------------------------------------------------------------------------

function vesselCell(vessel, fallbackMmsi) {
  const mmsi = vessel?.mmsi ?? fallbackMmsi;
  if (mmsi === null || mmsi === undefined) return "–";
  return h("span", { class: "vessel-cell" },
    h("a", { href: vesselHref(mmsi), "data-testid": "event-vessel-link" }, vessel?.name || `MMSI ${mmsi}`),
    h("span", { class: "muted small" }, ` MMSI ${mmsi}${vessel?.imo ? ` · IMO ${vessel.imo}` : ""} `),
    typeof vessel?.score === "number" ? scoreBadge(vessel.score) : null);
}

/** Details as a before/after table (objects "before"/"after" or pairs "before_x"/"after_x") and the rest. */
function detailsTables(details, type) {
  const d = details || {};
  const skip = new Set(["positions", "reports"]);
  const changes = [];
  if (d.before && d.after && typeof d.before === "object" && typeof d.after === "object" &&
      !("lat" in d.before && "lon" in d.before)) {
    skip.add("before").add("after");
    for (const key of new Set([...Object.keys(d.before), ...Object.keys(d.after)])) {
      const a = d.before[key];
      const b = d.after[key];
      if ((a === null || a === undefined) && (b === null || b === undefined)) continue;
      changes.push([key, a, b]);
    }
  }
  for (const key of Object.keys(d)) {
    const match = /^before_(.+)$/.exec(key);
    if (match && `after_${match[1]}` in d) {
      skip.add(key).add(`after_${match[1]}`);
      // "before_m" of a draught change is the draught in metres.
      const name = /^(m|km|kn|hours|minutes)$/.test(match[1]) ? `${String(type).split("_")[0]}_${match[1]}` : match[1];
      changes.push([name, d[key], d[`after_${match[1]}`]]);
    }
  }
  const out = [];
  if (changes.length) {
    out.push(h("table", { class: "grid compact", "data-testid": "event-changes" },
      h("thead", null, h("tr", null, h("th", null, "Value"), h("th", null, "Before"), h("th", null, "After"))),
      h("tbody", null, changes.map(([key, a, b]) =>
        h("tr", { class: JSON.stringify(a) !== JSON.stringify(b) ? "changed" : null },
          h("th", { scope: "row" }, label(key)), h("td", null, fmtValue(key, a)), h("td", null, fmtValue(key, b)))))));
  }
  const rest = Object.entries(d).filter(([key, value]) => !skip.has(key) && value !== null && value !== undefined);
  if (rest.length) out.push(keyValueTable(rest.map(([key, value]) => [label(key), fmtValue(key, value)]), "event-details"));
  return out;
}

function evidenceTable(rows) {
  if (!rows?.length) return h("p", { class: "muted" }, "No stored rows are cited by this event.");
  return h("div", { class: "evidence" }, rows.map((row) => {
    const source = row.source ?? row.source_file ?? row.file;
    const line = row.source_line ?? row.line;
    const what = row.kind === "position" || (typeof row.lat === "number" && !row.name)
      ? [fmtLatLon(row.lat, row.lon), typeof row.sog === "number" ? ` · ${fmtNumber(row.sog, 1)} kn` : ""].join("")
      : ["name", "imo", "callsign", "draught"].filter((k) => row[k] !== null && row[k] !== undefined)
        .map((k) => `${label(k)} ${fmtValue(k, row[k])}`).join(" · ");
    return h("div", { class: "evidence-row", "data-testid": "evidence-row" },
      h("div", { class: "evidence-meta" },
        h("span", { class: "tag tag-neutral" }, row.kind || "row"),
        h("span", { class: "nowrap" }, fmtTime(row.ts ?? row.time, { seconds: true })),
        h("span", null, what || "–"),
        h("span", { class: "evidence-source", title: source ? String(source) : null }, `${basename(source)}:${line ?? "?"}`)),
      row.raw ? h("code", { class: "raw", "data-testid": "evidence-raw" }, row.raw)
        : h("div", { class: "muted small" }, "(no raw sentence stored for this format)"));
  }));
}

export function renderEvent(root, event, { backMmsi, onClose }) {
  const vessel = event.vessel;
  const mmsi = vessel?.mmsi ?? event.mmsi;
  const evidence = event.evidence || [];
  root.replaceChildren(
    h("header", { class: "panel-head" },
      h("div", { class: "panel-title" },
        h("div", { class: "eyebrow" }, backMmsi !== null && backMmsi !== undefined
          ? h("a", { href: vesselHref(backMmsi), "data-testid": "event-back" }, "← back to vessel") : "Event"),
        h("h2", { "data-testid": "event-type" }, typeChip(event.type)),
        h("div", { class: "muted small mono", "data-testid": "event-id" }, event.event_id)),
      h("button", { type: "button", class: "icon-btn", title: "Close", "aria-label": "Close", onclick: onClose }, "×")),
    h("div", { class: "panel-actions" },
      mmsi !== null && mmsi !== undefined
        ? h("a", { class: "btn", href: api.dossierUrl(mmsi), target: "_blank", rel: "noopener", "data-testid": "event-dossier-link" },
          "Vessel dossier ↗") : null),
    section("Event", "event-summary", keyValueTable([
      ["Vessel", vesselCell(vessel, event.mmsi)],
      event.other_mmsi !== null && event.other_mmsi !== undefined ? ["Other vessel", vesselCell(event.other_vessel, event.other_mmsi)] : null,
      ["Start", fmtTime(event.start, { seconds: true })],
      ["End", fmtTime(event.end, { seconds: true })],
      ["Duration", fmtDuration(event.start, event.end)],
      ["Confidence", typeof event.confidence === "number" ? `${fmtNumber(event.confidence * 100, 0)}%` : "–"],
      ["Position", fmtLatLon(event.lat, event.lon)],
    ], "event-fields")),
    section("Details", "event-details-section", detailsTables(event.details, event.type)),
    section(`Evidence (${evidence.length} stored row${evidence.length === 1 ? "" : "s"})`, "event-evidence",
      evidenceTable(evidence)));
}

export function renderMessage(root, title, message, onClose) {
  root.replaceChildren(
    h("header", { class: "panel-head" },
      h("div", { class: "panel-title" }, h("div", { class: "eyebrow" }, title), h("h2", null, message)),
      h("button", { type: "button", class: "icon-btn", title: "Close", "aria-label": "Close", onclick: onClose }, "×")));
}

export function renderLoading(root, what) {
  root.replaceChildren(h("div", { class: "panel-loading" }, h("span", { class: "spinner" }), `Loading ${what}…`));
}
