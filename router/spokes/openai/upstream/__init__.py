"""OpenAI-compatible upstreams: hub request → their request; their answer and stream → hub answer and events."""
