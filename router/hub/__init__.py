"""The hub every conversion passes through: Anthropic Messages as typed Structs, its token estimator and its usage."""
