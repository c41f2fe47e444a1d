"""`make bench`: the engine measured against its own ceiling, on the real stack."""
