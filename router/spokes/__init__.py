"""One package per wire protocol around the hub (Anthropic Messages), and the registry that lists them; see spoke.py."""
