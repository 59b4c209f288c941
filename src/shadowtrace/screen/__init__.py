"""Screening: AIS vessels against sanctions and watch lists, ownership and contact exposure."""
