// DOM and formatting helpers. Every string from the API reaches the page through
// textContent or an attribute set with setAttribute, never through innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) {
        if (prop.startsWith("--")) node.style.setProperty(prop, v);
        else node.style[prop] = v;
      }
    }
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

/** h("div", {class: "x", "data-testid": "y"}, "text", child, [more]) */
export function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// --- formatting (presentation only) ---------------------------------------------------------

/** Milliseconds since the epoch of an ISO time; times without a zone are UTC. */
export function parseTime(text) {
  if (!text) return NaN;
  const iso = String(text).replace(" ", "T");
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

export function fmtTime(text, { seconds = false } = {}) {
  const ms = parseTime(text);
  if (Number.isNaN(ms)) return text ? String(text) : "–";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)}Z`;
}

export function fmtDuration(start, end) {
  const ms = parseTime(end) - parseTime(start);
  if (!Number.isFinite(ms) || ms < 0) return "–";
  const minutes = Math.round(ms / 60000);
  if (minutes < 60) return `${minutes} min`;
  const hours = minutes / 60;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}

export function fmtNumber(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-GB");
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits });
}

export function fmtLatLon(lat, lon) {
  if (typeof lat !== "number" || typeof lon !== "number") return "–";
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(4)}°${ns} ${Math.abs(lon).toFixed(4)}°${ew}`;
}

/** A readable label for a snake_case key ("duration_hours" -> "Duration (h)"). */
export function label(key) {
  // Metres are not named in the label: fmtValue writes "m" or "km" with the value.
  const units = [["_hours", " (h)"], ["_minutes", " (min)"], ["_kn", " (kn)"], ["_km", " (km)"], ["_m", ""]];
  let text = String(key);
  let unit = "";
  for (const [suffix, shown] of units) {
    if (text.endsWith(suffix)) {
      text = text.slice(0, -suffix.length);
      unit = shown;
      break;
    }
  }
  text = text.replace(/_/g, " ").replace(/\bimo\b/i, "IMO").replace(/\bmmsi\b/i, "MMSI");
  return text.charAt(0).toUpperCase() + text.slice(1) + unit;
}

/** A compact text for any JSON value (objects with lat/lon/ts read as a place and time). */
export function fmtValue(key, value) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (/_m$/.test(key)) return Math.abs(value) >= 10000 ? `${fmtNumber(value / 1000, 1)} km` : `${fmtNumber(value, 1)} m`;
    // Integers are often identifiers (MMSI, IMO, MID): no digit grouping.
    return Number.isInteger(value) ? String(value) : fmtNumber(value);
  }
  if (Array.isArray(value)) return value.length ? value.map((v) => fmtValue("", v)).join(", ") : "–";
  if (typeof value === "object") {
    if ("lat" in value && "lon" in value) {
      const place = fmtLatLon(value.lat, value.lon);
      return value.ts ? `${place} at ${fmtTime(value.ts, { seconds: true })}` : place;
    }
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${label(k)}: ${fmtValue(k, v)}`)
      .join("; ") || "–";
  }
  return String(value);
}

/** Risk bands as in the dossier. */
export function riskBand(score) {
  if (score >= 75) return "very-high";
  if (score >= 50) return "high";
  if (score >= 25) return "medium";
  return "low";
}

export function scoreBadge(score, extra = {}) {
  const value = typeof score === "number" ? score : 0;
  return h("span", { class: `score score-${riskBand(value)}`, title: `risk score ${fmtNumber(value, 1)} / 100`, ...extra },
    fmtNumber(value, 0));
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
