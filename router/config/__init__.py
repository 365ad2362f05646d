"""routes.toml: its schema, the one loader and validator (`router check`, serve and reload share it), and what it says about targets."""
