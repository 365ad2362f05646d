"""The OpenAI Responses spoke (POST /v1/responses): Codex CLI and the openai SDKs' `responses` clients, and upstreams that serve models only there."""
