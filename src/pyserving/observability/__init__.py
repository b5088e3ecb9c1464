"""Logs (and, later, metrics): cross-cutting, imported by the composition root."""
