// The map: a style built in code from the API's layers (no external tiles, glyphs or sprites),
// clustered event markers, reference layers and the selected vessel's track with replay.

import * as maplibregl from "./vendor/maplibre-gl.mjs";
import { h } from "./dom.js";
import { MAP_COLORS, eventColorExpression } from "./theme.js";

const EMPTY = { type: "FeatureCollection", features: [] };

// Metres a pixel at zoom 0 on the equator (512 px tiles); radii in metres scale from it.
const METRES_PER_PX_Z0 = 78271.517;

/** A circle radius in pixels that follows a radius in metres (property radius_m) with the zoom. */
function metricRadius(minPx) {
  const px = (zoom) => ["/", ["*", ["get", "radius_m"], 2 ** zoom], METRES_PER_PX_Z0];
  return ["interpolate", ["exponential", 2], ["zoom"],
    0, minPx, 4, ["max", minPx, px(4)], 22, px(22)];
}

function graticule(step = 30) {
  const features = [];
  for (let lon = -180; lon <= 180; lon += step) {
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: [[lon, -85], [lon, 85]] } });
  }
  for (let lat = -60; lat <= 60; lat += step) {
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: [[-180, lat], [180, lat]] } });
  }
  return { type: "FeatureCollection", features };
}

function buildStyle() {
  const source = (data = EMPTY, extra = {}) => ({ type: "geojson", data, ...extra });
  return {
    version: 8,
    sources: {
      graticule: source(graticule()),
      land: source(),
      coastlines: source(),
      sts: source(),
      terminals: source(),
      events: source(EMPTY, { cluster: true, clusterRadius: 42, clusterMaxZoom: 9 }),
      track: source(),
      "vessel-events": source(),
      replay: source(),
      selected: source(),
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": MAP_COLORS.sea } },
      { id: "graticule", type: "line", source: "graticule", paint: { "line-color": MAP_COLORS.graticule, "line-width": 1 } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": MAP_COLORS.land } },
      { id: "coastlines", type: "line", source: "coastlines",
        paint: { "line-color": MAP_COLORS.coast, "line-width": ["interpolate", ["linear"], ["zoom"], 1, 0.6, 8, 1.4] } },
      { id: "sts-areas", type: "circle", source: "sts",
        paint: { "circle-radius": metricRadius(5), "circle-color": MAP_COLORS.sts, "circle-opacity": 0.12,
          "circle-stroke-color": MAP_COLORS.sts, "circle-stroke-width": 1.2, "circle-stroke-opacity": 0.8 } },
      { id: "terminal-radius", type: "circle", source: "terminals", minzoom: 6,
        paint: { "circle-radius": metricRadius(0), "circle-color": MAP_COLORS.terminal, "circle-opacity": 0.1,
          "circle-stroke-color": MAP_COLORS.terminal, "circle-stroke-width": 1, "circle-stroke-opacity": 0.6 } },
      { id: "terminal-points", type: "symbol", source: "terminals",
        layout: { "icon-image": "terminal", "icon-allow-overlap": true, "icon-ignore-placement": true,
          "icon-size": ["interpolate", ["linear"], ["zoom"], 1, 0.7, 8, 1] } },
      { id: "track-casing", type: "line", source: "track", layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": MAP_COLORS.trackCasing, "line-width": 5, "line-opacity": 0.55 } },
      { id: "track-line", type: "line", source: "track", layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": MAP_COLORS.track, "line-width": 2, "line-opacity": 0.9 } },
      { id: "event-clusters", type: "circle", source: "events", filter: ["has", "point_count"],
        paint: {
          "circle-color": MAP_COLORS.cluster,
          "circle-opacity": 0.88,
          "circle-radius": ["step", ["get", "point_count"], 12, 10, 15, 50, 19, 200, 24, 1000, 29],
          "circle-stroke-color": "#cbd5e1", "circle-stroke-width": 1.2, "circle-stroke-opacity": 0.7,
        } },
      { id: "event-points", type: "circle", source: "events", filter: ["!", ["has", "point_count"]],
        paint: { "circle-color": eventColorExpression(), "circle-radius": 5.5,
          "circle-stroke-color": "#0b1220", "circle-stroke-width": 1.2 } },
      { id: "vessel-events", type: "circle", source: "vessel-events",
        paint: { "circle-color": eventColorExpression(), "circle-radius": 6.5,
          "circle-stroke-color": "#f8fafc", "circle-stroke-width": 2 } },
      { id: "selected-event", type: "circle", source: "selected",
        paint: { "circle-radius": 14, "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": MAP_COLORS.replay, "circle-stroke-width": 2.5 } },
      { id: "replay-point", type: "circle", source: "replay",
        paint: { "circle-radius": 7, "circle-color": MAP_COLORS.replay,
          "circle-stroke-color": "#0b1220", "circle-stroke-width": 2 } },
    ],
  };
}

/** A small diamond for the terminals, drawn on a canvas (no sprite sheet is fetched). */
function diamondImage(size = 18) {
  const ratio = 2;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size * ratio;
  const ctx = canvas.getContext("2d");
  const c = (size * ratio) / 2;
  const r = c - 2 * ratio;
  ctx.beginPath();
  ctx.moveTo(c, c - r);
  ctx.lineTo(c + r, c);
  ctx.lineTo(c, c + r);
  ctx.lineTo(c - r, c);
  ctx.closePath();
  ctx.fillStyle = MAP_COLORS.terminal;
  ctx.fill();
  ctx.lineWidth = 1.5 * ratio;
  ctx.strokeStyle = "#fef2f2";
  ctx.stroke();
  return { image: ctx.getImageData(0, 0, size * ratio, size * ratio), pixelRatio: ratio };
}

/** The API gives radius_km; the circle layers scale radius_m with the zoom. */
function withRadiusM(collection, defaultKm) {
  const features = (collection?.features || []).map((f) => ({
    ...f, properties: { ...f.properties, radius_m: Number(f.properties?.radius_km ?? defaultKm) * 1000 },
  }));
  return { type: "FeatureCollection", features };
}

export const LAYER_GROUPS = {
  terminals: ["terminal-radius", "terminal-points"],
  sts: ["sts-areas"],
  track: ["track-casing", "track-line", "vessel-events", "replay-point"],
  events: ["event-clusters", "event-points"],
};

export class MapView {
  constructor(container, { onEventClick, onMoveEnd, padding } = {}) {
    this.container = container;
    this.onEventClick = onEventClick || (() => {});
    // Room the page's overlays take over the map, for fitting a track beside them.
    this.padding = padding || (() => ({ top: 50, bottom: 50, left: 50, right: 50 }));
    this.trackBounds = null;
    this.clusterMarkers = new Map();
    this.eventsVisible = true;
    this.map = new maplibregl.Map({
      container,
      style: buildStyle(),
      center: [25, 38],
      zoom: 1.4,
      minZoom: 0.5,
      maxZoom: 16,
      renderWorldCopies: false,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ maxWidth: 120, unit: "nautical" }), "bottom-right");
    this.popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 10, className: "map-popup" });
    this.ready = new Promise((resolve) => this.map.once("load", resolve));
    this.map.on("load", () => {
      const { image, pixelRatio } = diamondImage();
      this.map.addImage("terminal", image, { pixelRatio });
      this.bindInteractions();
    });
    if (onMoveEnd) this.map.on("moveend", () => onMoveEnd(this));
    this.map.on("render", () => this.updateClusterCounts());
  }

  bindInteractions() {
    const map = this.map;
    for (const layer of ["event-clusters", "event-points", "vessel-events", "terminal-points", "sts-areas"]) {
      map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; this.popup.remove(); });
    }
    map.on("click", "event-clusters", async (e) => {
      const feature = e.features[0];
      const zoom = await map.getSource("events").getClusterExpansionZoom(feature.properties.cluster_id);
      map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(zoom + 0.2, 14) });
    });
    const openEvent = (e) => {
      const props = e.features[0].properties;
      if (props.event_id) this.onEventClick(String(props.event_id));
    };
    map.on("click", "event-points", openEvent);
    map.on("click", "vessel-events", openEvent);
    const describe = (kind) => (e) => {
      const props = e.features[0].properties;
      const extra = kind === "STS area" && props.radius_km ? ` · ${props.radius_km} km` : "";
      this.popup.setLngLat(e.features[0].geometry.coordinates)
        .setDOMContent(h("div", null, h("div", { class: "popup-kind" }, kind), h("strong", null, props.name || "–"), extra))
        .addTo(map);
    };
    map.on("mousemove", "terminal-points", describe("Russian export terminal"));
    map.on("mousemove", "sts-areas", describe("STS area"));
    map.on("mousemove", "event-points", (e) => {
      const props = e.features[0].properties;
      this.popup.setLngLat(e.features[0].geometry.coordinates)
        .setDOMContent(h("div", null, h("div", { class: "popup-kind" }, String(props.type || "event").replace(/_/g, " ")),
          h("strong", null, `MMSI ${props.mmsi ?? "–"}`), h("div", { class: "popup-sub" }, String(props.start || ""))))
        .addTo(map);
    });
  }

  setData(sourceId, data) {
    this.map.getSource(sourceId).setData(data || EMPTY);
  }

  setBasemap(land, coastlines) {
    this.setData("land", land);
    this.setData("coastlines", coastlines);
  }

  setTerminals(collection) {
    this.setData("terminals", withRadiusM(collection, 5));
  }

  setStsAreas(collection) {
    this.setData("sts", withRadiusM(collection, 15));
  }

  setEvents(collection) {
    // Cluster ids are reused by the new data: drop the old labels.
    for (const marker of this.clusterMarkers.values()) marker.remove();
    this.clusterMarkers.clear();
    this.setData("events", collection);
  }

  setVesselEvents(events) {
    const features = (events || []).filter((e) => typeof e.lat === "number" && typeof e.lon === "number")
      .map((e) => ({ type: "Feature", geometry: { type: "Point", coordinates: [e.lon, e.lat] },
        properties: { event_id: e.event_id, type: e.type, mmsi: e.mmsi, start: e.start } }));
    this.setData("vessel-events", { type: "FeatureCollection", features });
  }

  setTrack(collection) {
    this.setData("track", collection);
    let bounds = null;
    for (const feature of collection?.features || []) {
      for (const [lon, lat] of feature.geometry?.coordinates || []) {
        if (!bounds) bounds = [lon, lat, lon, lat];
        else bounds = [Math.min(bounds[0], lon), Math.min(bounds[1], lat), Math.max(bounds[2], lon), Math.max(bounds[3], lat)];
      }
    }
    this.trackBounds = bounds;
    this.container.dataset.trackFeatures = String(collection?.features?.length || 0);
  }

  clearTrack() {
    this.setTrack(null);
    this.setVesselEvents([]);
    this.setReplay(null);
    delete this.container.dataset.trackMmsi;
  }

  fitTrack({ animate = true } = {}) {
    if (!this.trackBounds) return false;
    const [w, s, e, n] = this.trackBounds;
    const pad = 0.02;
    this.map.fitBounds([[w - pad, s - pad], [e + pad, n + pad]],
      { padding: this.padding(), maxZoom: 11, duration: animate ? 800 : 0 });
    return true;
  }

  setReplay(position) {
    this.setData("replay", position ? { type: "FeatureCollection", features: [
      { type: "Feature", geometry: { type: "Point", coordinates: position }, properties: {} }] } : null);
  }

  selectEvent(lon, lat) {
    const valid = typeof lon === "number" && typeof lat === "number";
    this.setData("selected", valid ? { type: "FeatureCollection", features: [
      { type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} }] } : null);
    if (valid) {
      const zoom = Math.max(this.map.getZoom(), 6);
      this.map.easeTo({ center: [lon, lat], zoom, duration: 700 });
    }
  }

  setGroupVisible(group, visible) {
    for (const id of LAYER_GROUPS[group] || []) {
      this.map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
    }
    if (group === "events") {
      this.eventsVisible = visible;
      this.updateClusterCounts();
    }
  }

  /** The visible area as the API's bbox parameter, clamped to the world. */
  bbox() {
    const b = this.map.getBounds();
    let west = b.getWest();
    let east = b.getEast();
    if (east - west >= 360 || west < -180 || east > 180) {
      west = Math.max(west, -180);
      east = Math.min(east, 180);
    }
    const south = Math.max(b.getSouth(), -90);
    const north = Math.min(b.getNorth(), 90);
    const r = (v) => Number(v.toFixed(4));
    return `${r(west)},${r(south)},${r(east)},${r(north)}`;
  }

  /** Cluster sizes as HTML labels (no glyphs offline for text in the map). */
  updateClusterCounts() {
    const map = this.map;
    if (!map.getSource("events") || !map.isSourceLoaded("events")) return;
    const keep = new Set();
    if (this.eventsVisible) {
      for (const feature of map.querySourceFeatures("events", { filter: ["has", "point_count"] })) {
        const id = feature.properties.cluster_id;
        if (keep.has(id)) continue;
        keep.add(id);
        if (!this.clusterMarkers.has(id)) {
          const element = h("div", { class: "cluster-count" }, String(feature.properties.point_count_abbreviated));
          const marker = new maplibregl.Marker({ element }).setLngLat(feature.geometry.coordinates).addTo(map);
          this.clusterMarkers.set(id, marker);
        }
      }
    }
    for (const [id, marker] of this.clusterMarkers) {
      if (!keep.has(id)) {
        marker.remove();
        this.clusterMarkers.delete(id);
      }
    }
  }
}
