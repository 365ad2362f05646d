"""The OpenAI Chat Completions spoke: its clients through the hub, and OpenAI-compatible upstreams from it."""
