"""Every detector, by the event type it emits. A test walks this list."""

from __future__ import annotations

from importlib import import_module

from shadowtrace.detect.base import Detector

# Module names under shadowtrace.detect, in the order they run.
_MODULES = (
    "ais_gap",
    "encounter",
    "loitering",
    "port_call",
    "teleport",
    "position_on_land",
    "identity_conflict",
    "identity_change",
    "draught_change",
    "invalid_identity",
)


def _available(name: str) -> bool:
    try:
        import_module(f"shadowtrace.detect.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"shadowtrace.detect.{name}":
            return False  # not written yet
        raise
    return True


def _load(name: str) -> Detector:
    module = import_module(f"shadowtrace.detect.{name}")
    summary = (module.__doc__ or name).strip().splitlines()[0]
    return Detector(type=name, params=module.Params, detect=module.detect, summary=summary)


DETECTORS: dict[str, Detector] = {name: _load(name) for name in _MODULES if _available(name)}
