"""The field-mapping DSL: a spec (schemas/*.toml, route overrides) → IR → one compiled function
per (route, target, direction). See DESIGN.md and the README's architecture section."""
