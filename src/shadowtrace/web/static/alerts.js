// Alerts from `shadowtrace watch`: the latest stored ones in a list over the map and, when the
// page is served by the watcher itself (`watch --serve`), new ones as they are raised (server-
// sent events), each a blinking marker on the map. Clicking one opens its event or vessel.

import * as maplibregl from "./vendor/maplibre-gl.mjs";
import { api } from "./api.js";
import { $, clear, fmtTime, h } from "./dom.js";

const SHOWN = 50; // alerts in the list and markers on the map
const RULE_TEXT = {
  listed_appeared: "appeared", listed_dark: "went dark", listed_sts: "ship-to-ship",
  listed_terminal: "sanctioned terminal", listed_identity: "identity", risk: "high risk",
};

export class AlertFeed {
  constructor(map, { onOpen }) {
    this.map = map;
    this.onOpen = onOpen;
    this.alerts = [];
    this.markers = new Map();
    this.box = $("[data-testid=alerts]");
    this.list = $("[data-testid=alert-list]");
    this.count = $("[data-testid=alert-count]");
    this.liveBadge = $("[data-testid=alert-live]");
    this.source = null;
  }

  async start() {
    const page = await api.alerts({ limit: SHOWN });
    this.total = page.total;
    this.alerts = page.items.slice().reverse(); // oldest first; add() puts new ones on top
    this.render();
    for (const alert of this.alerts) this.mark(alert, false);
    if (page.live) this.listen();
    this.box.hidden = !page.live && !page.total;
  }

  listen() {
    this.liveBadge.hidden = false;
    this.source = new EventSource("/api/alerts/stream");
    this.source.addEventListener("alert", (message) => this.add(JSON.parse(message.data)));
    this.source.addEventListener("error", () => { this.liveBadge.classList.add("stale"); });
    this.source.addEventListener("open", () => { this.liveBadge.classList.remove("stale"); });
  }

  add(alert) {
    if (this.alerts.some((a) => a.alert_id === alert.alert_id)) return;
    this.alerts.push(alert);
    this.total += 1;
    if (this.alerts.length > SHOWN) {
      const gone = this.alerts.shift();
      this.markers.get(gone.alert_id)?.remove();
      this.markers.delete(gone.alert_id);
    }
    this.box.hidden = false;
    this.render(alert.alert_id);
    this.mark(alert, true);
  }

  mark(alert, fresh) {
    if (typeof alert.lat !== "number" || typeof alert.lon !== "number") return;
    // MapLibre places a marker with a CSS transform, so the blinking is on an inner dot.
    const el = h("button", { type: "button", class: `alert-marker rule-${alert.rule}${fresh ? " blink" : ""}`,
      title: alert.message, "aria-label": `alert: ${alert.message}`, "data-testid": "alert-marker" },
      h("span", { class: "alert-dot" }));
    el.addEventListener("click", () => this.onOpen(alert));
    const marker = new maplibregl.Marker({ element: el }).setLngLat([alert.lon, alert.lat]).addTo(this.map);
    this.markers.set(alert.alert_id, marker);
  }

  render(freshId = null) {
    clear(this.list);
    for (const alert of this.alerts.slice().reverse()) {
      const item = h("li", { class: alert.alert_id === freshId ? "fresh" : "", "data-testid": "alert-item",
        "data-alert-id": alert.alert_id },
        h("button", { type: "button", class: "alert-row" },
          h("span", { class: `alert-rule rule-${alert.rule}` }, RULE_TEXT[alert.rule] || alert.rule),
          h("span", { class: "alert-text" }, alert.message),
          h("span", { class: "alert-time muted" }, fmtTime(alert.ts))));
      item.querySelector("button").addEventListener("click", () => this.onOpen(alert));
      this.list.append(item);
    }
    this.count.textContent = String(this.total);
  }
}
