"""Responses upstreams from the hub: hub request → Responses, Responses answer and events → hub."""
