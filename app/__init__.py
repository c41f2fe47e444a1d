"""data-engine-x API."""
