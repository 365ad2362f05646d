"""Responses clients through the hub: request → hub, hub answer and events → Responses."""
