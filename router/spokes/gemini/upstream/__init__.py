"""Gemini upstreams from the hub: hub request → GenerateContentRequest, GenerateContentResponse answers and stream chunks → hub."""
