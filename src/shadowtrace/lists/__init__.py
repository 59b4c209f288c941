"""Sanctions and watch lists: readers for each format, flattened into the store."""
