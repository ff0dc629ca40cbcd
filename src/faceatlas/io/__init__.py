"""Inputs and outputs: image decoding with hard limits, file discovery, JSONL records, drawings."""
