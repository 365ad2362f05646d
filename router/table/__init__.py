"""routes.toml: schema Structs, load + validate, the immutable lookup table, hot reload."""
