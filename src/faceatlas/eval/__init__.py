"""Measurement: protocols, metrics and calibration (the harness every published figure and threshold comes from)."""
