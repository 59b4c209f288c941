// Colours and labels of the event types (the detectors in shadowtrace.detect.registry).

export const EVENT_TYPES = [
  { type: "encounter", label: "Encounter (STS)", color: "#ef4444" },
  { type: "loitering", label: "Loitering", color: "#a78bfa" },
  { type: "ais_gap", label: "AIS gap", color: "#f59e0b" },
  { type: "port_call", label: "Port call", color: "#38bdf8" },
  { type: "draught_change", label: "Draught change", color: "#2dd4bf" },
  { type: "teleport", label: "Teleport (spoof)", color: "#ec4899" },
  { type: "position_on_land", label: "Position on land", color: "#84cc16" },
  { type: "identity_conflict", label: "Identity conflict", color: "#f97316" },
  { type: "identity_change", label: "Identity change", color: "#facc15" },
  { type: "invalid_identity", label: "Invalid identity", color: "#94a3b8" },
];

export const OTHER_COLOR = "#cbd5e1";

const BY_TYPE = new Map(EVENT_TYPES.map((t) => [t.type, t]));

export function eventColor(type) {
  return BY_TYPE.get(type)?.color ?? OTHER_COLOR;
}

export function eventLabel(type) {
  return BY_TYPE.get(type)?.label ?? String(type).replace(/_/g, " ");
}

/** A MapLibre "match" expression colouring features by their "type" property. */
export function eventColorExpression() {
  return ["match", ["get", "type"], ...EVENT_TYPES.flatMap((t) => [t.type, t.color]), OTHER_COLOR];
}

export const MAP_COLORS = {
  sea: "#0b1724",
  graticule: "#13263a",
  land: "#1b2631",
  coast: "#3f556b",
  terminal: "#dc2626",
  sts: "#22d3ee",
  track: "#f1f5f9",
  trackCasing: "#020617",
  replay: "#fde047",
  cluster: "#475569",
};
