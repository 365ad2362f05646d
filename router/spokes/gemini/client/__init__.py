"""The Gemini spoke's client side: Gemini requests → hub requests, hub answers and streams → Gemini's."""
