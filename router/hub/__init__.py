"""The hub every conversion passes through: Anthropic Messages as typed Structs, its token estimator, its usage,
and its stream events as client machines read them (events) and upstream machines write them (event_bytes)."""
