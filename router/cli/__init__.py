"""The `router` command: serve, check, explain, schema, keys."""
