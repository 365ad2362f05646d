"""GET /v1beta/models and /v1beta/models/{model} in Google's shape: the names routes serve, each
a `Model` resource (`name` is "models/<name>"; the google-genai SDKs read `supportedGenerationMethods`
as the model's supported actions). The router knows no limits of its own for a routed name: the
token limits are left out rather than made up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GENERATION_METHODS = ("generateContent", "streamGenerateContent", "countTokens")
MODEL_PREFIX = "models/"


def model_info(name: str) -> dict[str, Any]:
    bare = name.removeprefix(MODEL_PREFIX)
    return {
        "name": MODEL_PREFIX + bare,
        "version": "001",
        "displayName": bare,
        "description": f"{bare}, served through the router",
        "supportedGenerationMethods": list(GENERATION_METHODS),
    }


def model_list(names: Sequence[str]) -> dict[str, Any]:
    return {"models": [model_info(name) for name in names]}
