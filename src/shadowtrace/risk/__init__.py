"""Risk ranking of vessels from list matches, exposures and behaviour events."""
