"""Socket helpers shared by the front ends: reserving ports early, closing listeners cleanly."""
