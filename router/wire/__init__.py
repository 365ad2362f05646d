"""Wire protocols as plain msgspec Structs (no behaviour) and the SSE codec."""
