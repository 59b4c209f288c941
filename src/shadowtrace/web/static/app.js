// The analyst workbench: wires the API, the map, the vessel list and the panel together.
// Deep links: #/vessel/<mmsi> and #/event/<event_id>; the hash is the single source of what
// the panel shows, so back / forward work.

import { AlertFeed } from "./alerts.js";
import { api, apiUrl } from "./api.js";
import { $, debounce, fmtNumber, h, scoreBadge } from "./dom.js";
import { VesselList } from "./list.js";
import { MapView } from "./map.js";
import { Replay, renderEvent, renderLoading, renderMessage, renderVessel } from "./panel.js";
import { EVENT_TYPES, MAP_COLORS } from "./theme.js";

const EXPORT_LIMIT = 500; // the API's page cap: geojson and csv are capped at limit

const state = {
  enabledTypes: new Set(EVENT_TYPES.map((t) => t.type)),
  trackMmsi: null,
  trackZoom: null,
  panelRequest: 0,
  eventsRequest: null,
};

const panel = $("[data-testid=panel]");
const panelBody = $("[data-testid=panel-body]");

function toast(message) {
  const el = $("[data-testid=toast]");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

// --- map ------------------------------------------------------------------------------------

/** Padding that keeps a fitted track clear of the export bar, the legend and an overlaid panel. */
function overlayPadding() {
  const map = $("#map");
  const width = map.clientWidth;
  const legend = $("[data-testid=legend]:not(.collapsed)");
  const left = legend ? Math.min(legend.offsetWidth + 30, width / 3) : 40;
  // On a narrow screen the panel floats over the map (see style.css).
  const floating = !panel.hidden && getComputedStyle(panel).position === "absolute";
  const right = floating ? Math.min(panel.offsetWidth + 30, (width * 2) / 3 - left) : 40;
  return { top: 70, bottom: 40, left, right };
}

const mapView = new MapView($("#map"), {
  onEventClick: (eventId) => navigate(`#/event/${encodeURIComponent(eventId)}`),
  onMoveEnd: debounce(() => {
    loadEvents();
    if (vesselList.inView) vesselList.load();
    maybeRefineTrack();
  }, 300),
  padding: overlayPadding,
});
window.shadowtrace = { map: mapView.map, mapView }; // a handle for debugging and the browser tests

const replay = new Replay(mapView);

function eventTypeParams() {
  const all = state.enabledTypes.size === EVENT_TYPES.length;
  return all ? null : [...state.enabledTypes];
}

function updateExportLinks() {
  const params = { bbox: mapView.bbox(), type: eventTypeParams(), limit: EXPORT_LIMIT };
  $("[data-testid=export-csv]").href = apiUrl("/api/events", { ...params, format: "csv" });
  $("[data-testid=export-geojson]").href = apiUrl("/api/events", { ...params, format: "geojson" });
}

async function loadEvents() {
  updateExportLinks();
  state.eventsRequest?.abort();
  const info = $("[data-testid=events-in-view]");
  if (!state.enabledTypes.size) {
    mapView.setEvents(null);
    info.textContent = "no event types selected";
    return;
  }
  const controller = new AbortController();
  state.eventsRequest = controller;
  try {
    const collection = await api.events({ format: "geojson", bbox: mapView.bbox(), type: eventTypeParams(), limit: EXPORT_LIMIT },
      { signal: controller.signal });
    if (controller.signal.aborted) return;
    // Events without a position cannot be drawn (and would break clustering).
    const features = (collection.features || []).filter((f) => f.geometry && Array.isArray(f.geometry.coordinates));
    mapView.setEvents({ type: "FeatureCollection", features });
    const total = typeof collection.total === "number" ? collection.total : null;
    const fetched = (collection.features || []).length;
    info.textContent = total !== null && total > fetched
      ? `${fmtNumber(fetched)} of ${fmtNumber(total)} events in view (zoom in for the rest)`
      : `${fmtNumber(total ?? fetched)} events in view`;
    $("#map").dataset.events = String(features.length);
  } catch (error) {
    if (error.name !== "AbortError") toast(`Events: ${error.message}`);
  }
}

function swatch(kind, color) {
  return h("span", { class: `swatch swatch-${kind}`, style: { "--c": color } });
}

function buildLegend() {
  const layers = $("[data-testid=legend-layers]");
  const toggle = (id, text, sw, group, checked = true) => {
    const input = h("input", { type: "checkbox", checked, "data-testid": `layer-${id}` });
    input.addEventListener("change", () => mapView.setGroupVisible(group, input.checked));
    return h("label", { class: "legend-item" }, input, sw, text);
  };
  layers.append(
    toggle("terminals", "Russian export terminals", swatch("diamond", MAP_COLORS.terminal), "terminals"),
    toggle("sts", "Known STS areas", swatch("ring", MAP_COLORS.sts), "sts"),
    toggle("track", "Selected vessel track", swatch("line", MAP_COLORS.track), "track"),
    toggle("events", "Event markers", swatch("cluster", MAP_COLORS.cluster), "events"));

  const events = $("[data-testid=legend-events]");
  const reload = debounce(loadEvents, 150);
  for (const t of EVENT_TYPES) {
    const input = h("input", { type: "checkbox", checked: true, value: t.type, "data-testid": `event-toggle-${t.type}` });
    input.addEventListener("change", () => {
      if (input.checked) state.enabledTypes.add(t.type);
      else state.enabledTypes.delete(t.type);
      reload();
    });
    events.append(h("label", { class: "legend-item" }, input, swatch("dot", t.color), t.label));
  }
  const legend = $("[data-testid=legend]");
  const button = $("[data-testid=legend-toggle]");
  const setCollapsed = (collapsed) => {
    legend.classList.toggle("collapsed", collapsed);
    button.textContent = collapsed ? "show" : "hide";
    button.setAttribute("aria-expanded", String(!collapsed));
  };
  button.addEventListener("click", () => {
    state.legendTouched = true;
    setCollapsed(!legend.classList.contains("collapsed"));
  });
  // On a small screen the legend would cover much of the map: fold it (unless the user chose).
  state.foldLegendIfCramped = () => {
    if (!state.legendTouched && $("#map").clientWidth < 760) setCollapsed(true);
  };
  state.foldLegendIfCramped();
}

// --- track ----------------------------------------------------------------------------------

function trackZoom() {
  return Math.max(5, Math.min(22, Math.round(mapView.map.getZoom())));
}

async function loadTrack(mmsi, { fit }) {
  const zoom = fit ? 8 : trackZoom();
  const collection = await api.track(mmsi, zoom);
  state.trackMmsi = String(mmsi);
  state.trackZoom = zoom;
  mapView.setTrack(collection);
  $("#map").dataset.trackMmsi = String(mmsi);
  replay.setTrack(collection);
  if (fit) mapView.fitTrack();
}

/** After zooming in well past the detail the track was fetched for, fetch it again. */
async function maybeRefineTrack() {
  const mmsi = state.trackMmsi;
  if (!mmsi || replay.timer) return;
  const zoom = trackZoom();
  if (zoom < state.trackZoom + 2) return;
  state.trackZoom = zoom;
  try {
    const collection = await api.track(mmsi, zoom);
    if (state.trackMmsi !== mmsi || replay.timer) return;
    mapView.setTrack(collection);
    replay.setTrack(collection);
  } catch (error) {
    toast(`Track: ${error.message}`);
  }
}

// --- panel ----------------------------------------------------------------------------------

function openPanel(view) {
  const wasHidden = panel.hidden;
  panel.hidden = false;
  panel.dataset.view = view;
  if (wasHidden) {
    mapView.map.resize();
    state.foldLegendIfCramped?.();
  }
}

function closePanel() {
  state.panelRequest++;
  replay.stop();
  panel.hidden = true;
  delete panel.dataset.view;
  panelBody.replaceChildren();
  state.trackMmsi = null;
  mapView.clearTrack();
  mapView.selectEvent(null, null);
  vesselList.select(null);
  mapView.map.resize();
}

const closeButton = () => navigate("#/");

async function showVessel(mmsi) {
  const request = ++state.panelRequest;
  openPanel("vessel");
  renderLoading(panelBody, `vessel ${mmsi}`);
  vesselList.select(mmsi);
  mapView.selectEvent(null, null);
  try {
    const [profile] = await Promise.all([api.vessel(mmsi), loadTrack(mmsi, { fit: true })]);
    if (request !== state.panelRequest) return;
    renderVessel(panelBody, profile, {
      replay,
      onEvent: (eventId) => navigate(`#/event/${encodeURIComponent(eventId)}`),
      onFit: () => mapView.fitTrack(),
      onClose: closeButton,
    });
    mapView.setVesselEvents(profile.events);
    panel.dataset.mmsi = String(profile.mmsi);
    document.title = `${profile.name || profile.mmsi} · shadowtrace`;
  } catch (error) {
    if (request !== state.panelRequest) return;
    renderMessage(panelBody, "Vessel", error.status === 404 ? `No vessel with MMSI ${mmsi}` : error.message, closeButton);
  }
}

async function showEvent(eventId) {
  const request = ++state.panelRequest;
  replay.stop();
  openPanel("event");
  renderLoading(panelBody, "event");
  try {
    const event = await api.event(eventId);
    if (request !== state.panelRequest) return;
    renderEvent(panelBody, event, { backMmsi: event.mmsi, onClose: closeButton });
    document.title = `${event.type} · shadowtrace`;
    vesselList.select(event.mmsi);
    mapView.selectEvent(event.lon, event.lat);
    if (state.trackMmsi !== String(event.mmsi)) {
      mapView.setVesselEvents([]);
      await loadTrack(event.mmsi, { fit: false });
    }
  } catch (error) {
    if (request !== state.panelRequest) return;
    renderMessage(panelBody, "Event", error.status === 404 ? `No event ${eventId}` : error.message, closeButton);
  }
}

function route() {
  const match = /^#\/(vessel|event)\/(.+)$/.exec(location.hash);
  if (!match) {
    if (!panel.hidden) closePanel();
    document.title = "shadowtrace · analyst workbench";
    return;
  }
  const id = decodeURIComponent(match[2]);
  if (match[1] === "vessel") {
    if (/^\d{1,9}$/.test(id)) showVessel(id);
    else { openPanel("vessel"); renderMessage(panelBody, "Vessel", `Not an MMSI: ${id}`, closeButton); }
  } else {
    showEvent(id);
  }
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// --- search ---------------------------------------------------------------------------------

function setupSearch() {
  const input = $("[data-testid=search-input]");
  const results = $("[data-testid=search-results]");
  const form = $("[data-testid=search-form]");
  let hits = [];
  let active = -1;
  let controller = null;

  const close = () => { results.hidden = true; active = -1; };
  const open = (hit) => {
    close();
    input.blur();
    navigate(`#/vessel/${hit.mmsi}`);
  };
  const render = () => {
    results.replaceChildren(...(hits.length ? hits.map((hit, i) =>
      h("li", { class: `search-hit${i === active ? " active" : ""}`, role: "option", "data-testid": "search-result",
        "data-mmsi": hit.mmsi, onmousedown: (e) => { e.preventDefault(); open(hit); } },
      h("div", { class: "search-main" },
        h("strong", null, hit.name || "(no name)"),
        h("span", { class: "muted small" }, [`MMSI ${hit.mmsi}`, hit.imo ? `IMO ${hit.imo}` : null].filter(Boolean).join(" · ")),
        hit.matched ? h("span", { class: "tag tag-neutral" }, `matched ${hit.matched}`) : null),
      typeof hit.score === "number" ? scoreBadge(hit.score) : null))
      : [h("li", { class: "search-empty muted" }, "No vessel found")]));
    results.hidden = false;
  };
  const search = async (q) => {
    controller?.abort();
    controller = new AbortController();
    const body = await api.search(q, { signal: controller.signal });
    hits = Array.isArray(body) ? body : body.items || [];
    active = -1;
    return hits;
  };
  // Enter while suggestions are still due: the submit's search must not be aborted by them.
  let submitting = false;
  const suggest = debounce(async () => {
    if (submitting) return;
    const q = input.value.trim();
    if (q.length < 2) return close();
    try {
      await search(q);
      render();
    } catch (error) {
      if (error.name !== "AbortError") toast(`Search: ${error.message}`);
    }
  }, 200);

  input.addEventListener("input", suggest);
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && hits.length) {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : hits.length - 1)) % hits.length;
      render();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    if (active >= 0 && hits[active]) return open(hits[active]);
    submitting = true;
    try {
      const found = await search(q);
      if (found.length) open(found[0]);
      else render();
    } catch (error) {
      if (error.name !== "AbortError") toast(`Search: ${error.message}`);
    } finally {
      submitting = false;
    }
  });
}

// --- start ----------------------------------------------------------------------------------

const vesselList = new VesselList($("[data-testid=vessel-sidebar]"), {
  onSelect: (mmsi) => navigate(`#/vessel/${mmsi}`),
  getBbox: () => mapView.bbox(),
});

async function loadStatus() {
  try {
    const health = await api.health();
    const parts = [
      [health.vessels, "vessel"], [health.events, "event"], [health.lists, "list"], [health.scored_vessels, "scored", ""],
    ].filter(([n]) => typeof n === "number").map(([n, what, plural = "s"]) => `${fmtNumber(n)} ${what}${n === 1 ? "" : plural}`);
    $("[data-testid=status]").textContent = parts.join(" · ");
  } catch (error) {
    $("[data-testid=status]").textContent = `API: ${error.message}`;
  }
  try {
    const body = await api.lists();
    const items = Array.isArray(body) ? body : body.items || [];
    vesselList.setLists(items.map((l) => l.name).filter(Boolean));
  } catch (error) {
    toast(`Lists: ${error.message}`);
  }
}

async function loadLayers() {
  const [land, coastlines, terminals, sts] = await Promise.all(
    ["land", "coastlines", "terminals", "sts_areas"].map((name) => api.layer(name)));
  await mapView.ready;
  mapView.setBasemap(land, coastlines);
  mapView.setTerminals(terminals);
  mapView.setStsAreas(sts);
  $("#map").dataset.basemap = "loaded";
}

async function start() {
  buildLegend();
  setupSearch();
  window.addEventListener("hashchange", route);
  vesselList.load();
  loadStatus();
  try {
    await loadLayers();
  } catch (error) {
    toast(`Map layers: ${error.message}`);
  }
  await mapView.ready;
  loadEvents();
  route();
  const alerts = new AlertFeed(mapView.map, {
    onOpen: (alert) => navigate(alert.event_id ? `#/event/${encodeURIComponent(alert.event_id)}` : `#/vessel/${alert.mmsi}`),
  });
  window.shadowtrace.alerts = alerts;
  try {
    await alerts.start();
  } catch (error) {
    toast(`Alerts: ${error.message}`);
  }
  document.body.dataset.ready = "true";
}

start();
