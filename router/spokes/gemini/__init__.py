"""The Google Gemini spoke (generateContent): Gemini CLI and the google-genai SDK as clients, Gemini AI Studio and Vertex AI as upstreams."""
