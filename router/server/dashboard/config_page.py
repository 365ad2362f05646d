"""The config page's data: which file serves (sha256, when loaded), how reloads went (counts from
/metrics, the recent history, the last rejection with its `router check` lines) and the
configuration with every secret redacted (the JSON GET /admin/config answers, pretty-printed)."""

from __future__ import annotations

import json
from typing import Any

from router.gateway.state import RouterState
from router.server.admin import redacted_config, scrubbed, version
from router.server.dashboard.figures import Figures
from router.server.reload import Reloader, ReloadStats

RESULTS = ("reloaded", "unchanged", "invalid")


def config_context(state: RouterState, reloader: Reloader | None) -> dict[str, Any]:
    loaded = state.table.loaded
    stats = reloader.stats if reloader is not None else ReloadStats()
    figures = Figures.of(state.metrics)
    text = json.dumps(redacted_config(loaded), indent=2, ensure_ascii=False)
    return {
        **version(state),
        "reloadable": reloader is not None,
        "reloads": {result: figures.counter("router_config_reloads", result=result) for result in RESULTS},
        "history": list(reversed(stats.history)),
        "last_error": stats.last_error,
        "config_text": scrubbed(text.encode(), loaded).decode(),
        "admin_key_required": bool(loaded.admin_key_hashes),
        "warnings": [problem.render() for problem in loaded.warnings],
    }
