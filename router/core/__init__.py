"""What every layer shares and nothing protocol-specific: errors, answers, the SSE codec, stream machine interfaces, ids."""
