// The read-only JSON API (docs/api.md). Same origin, so the token cookie (if any) goes along.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** "/api/x" + params -> a same-origin URL; arrays repeat the parameter, empty values are left out. */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === null || item === undefined || item === "") continue;
      query.append(key, String(item));
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export async function getJSON(path, params = {}, { signal } = {}) {
  const response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" }, signal });
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error; // aborted while reading: not an empty answer
    body = null;
  }
  if (response.ok && body === null) throw new ApiError(response.status, "bad_response", `no JSON from ${path}`, null);
  if (!response.ok) {
    const error = (body && body.error) || {};
    throw new ApiError(response.status, error.code || "http_error",
      error.message || `${response.status} ${response.statusText}`, error.details || null);
  }
  return body;
}

export const api = {
  health: () => getJSON("/api/health"),
  lists: () => getJSON("/api/lists"),
  vessels: (params, options) => getJSON("/api/vessels", params, options),
  vessel: (mmsi) => getJSON(`/api/vessels/${encodeURIComponent(mmsi)}`),
  track: (mmsi, zoom) => getJSON(`/api/vessels/${encodeURIComponent(mmsi)}/track`, { zoom }),
  events: (params, options) => getJSON("/api/events", params, options),
  event: (eventId) => getJSON(`/api/events/${encodeURIComponent(eventId)}`),
  search: (q, options) => getJSON("/api/search", { q }, options),
  layer: (name) => getJSON(`/api/layers/${encodeURIComponent(name)}`),
  alerts: (params) => getJSON("/api/alerts", params),
  dossierUrl: (mmsi) => `/api/vessels/${encodeURIComponent(mmsi)}/dossier.html`,
};
