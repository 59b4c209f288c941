"""shadowtrace: shadow-fleet behaviour and sanctions screening from AIS data."""

__version__ = "0.1.0"
