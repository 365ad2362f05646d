"""Microsoft Entra ID access tokens for upstreams with `entra` (Azure OpenAI, Claude on Azure AI
Foundry), from azure-identity's DefaultAzureCredential: environment (a service principal's
secret or federated token file), workload identity, managed identity, the Azure CLI's login.

An `AzureTokenSource` is made per upstream client. Reuse until shortly before expiry, one refresh
at a time in a worker thread (the sync credential blocks: token endpoints, the instance metadata
service, `az` run as a subprocess), a still-valid token kept when a refresh fails, and the
scrubber told each new token are router.upstream.refreshing_token's; this module says how
azure-identity is asked and what to fix when it fails.

azure-identity is the optional `router[azure]` extra, imported on the first refresh; `router
check` already reports an `entra` upstream without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from router.config.schema import AzureUpstream, Upstream
from router.upstream.refreshing_token import REFRESH_LEAD, RefreshingToken

# The default scopes: Azure OpenAI (Cognitive Services), and Azure AI Foundry's models (Claude).
COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
AI_FOUNDRY_SCOPE = "https://ai.azure.com/.default"
INSTALL_HINT = "entra tokens need azure-identity: pip install 'router[azure]'"
# The lines of DefaultAzureCredential's message that say nothing about this failure.
_BOILERPLATE = ("DefaultAzureCredential failed", "Attempted credentials", "Visit ", "To mitigate")
_MAX_DETAIL = 500


class TokenCredential(Protocol):
    """What the router asks of an azure-identity credential (azure.core's TokenCredential)."""

    def get_token(self, *scopes: str) -> Any: ...  # an AccessToken: (token, expires_on epoch seconds)


def entra_scope(upstream: Upstream) -> str:
    """The scope an `entra` table without one asks for: Cognitive Services for Azure OpenAI,
    Azure AI Foundry for Claude (the only other kind with `entra`)."""
    return COGNITIVE_SERVICES_SCOPE if isinstance(upstream, AzureUpstream) else AI_FOUNDRY_SCOPE


def default_credential(client_id: str | None) -> TokenCredential:
    """azure-identity's DefaultAzureCredential; `client_id` picks a user-assigned managed identity."""
    from azure.identity import DefaultAzureCredential  # optional: imported on first use

    if client_id is None:
        return DefaultAzureCredential()
    return DefaultAzureCredential(managed_identity_client_id=client_id)


class AzureTokenSource(RefreshingToken):
    """`authorization()` → "Bearer <token>" for `scope`, refreshed before it expires.

    A failed refresh is an UpstreamUnreachable naming the upstream and the fix (a 502 in the
    client's protocol; failover tries the next target), unless the token in hand is still valid."""

    __slots__ = ("_scope", "_client_id", "_make_credential", "_wall_clock", "_credential")

    _log = logging.getLogger("router.upstream.azure")

    def __init__(self, upstream: str, scope: str, client_id: str | None = None, *,
                 on_token: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, lead: float = REFRESH_LEAD,
                 wall_clock: Callable[[], float] = time.time,
                 credential: Callable[[str | None], TokenCredential] = default_credential) -> None:
        super().__init__(upstream, on_token=on_token, clock=clock, lead=lead)
        self._scope = scope
        self._client_id = client_id
        self._make_credential = credential
        self._wall_clock = wall_clock  # expires_on is epoch seconds
        self._credential: TokenCredential | None = None  # made by the first refresh

    def _fetch(self) -> tuple[str, float | None]:
        """Make the credential once (it keeps its own caches), then ask it for a token."""
        if self._credential is None:
            self._credential = self._make_credential(self._client_id)
        token, expires_on = self._credential.get_token(self._scope)[:2]
        if not isinstance(token, str) or not token:
            raise ValueError("the credential gave no access token")
        return token, float(expires_on) - self._wall_clock()

    def _failure_message(self, exc: BaseException) -> str:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("azure"):
            return f"upstream {self._upstream!r}: {INSTALL_HINT}"
        return (f"upstream {self._upstream!r} could not get a Microsoft Entra ID token for {self._scope} "
                f"({failure_detail(exc)}); {_fix(self._client_id)}")


def failure_detail(exc: BaseException) -> str:
    """What went wrong, short: DefaultAzureCredential says it per credential it tried, between
    lines of boilerplate; those lines are kept, on one line."""
    lines = [line.strip() for line in str(exc).splitlines()]
    said = "; ".join(line for line in lines if line and not line.startswith(_BOILERPLATE))
    return (said or type(exc).__name__)[:_MAX_DETAIL]


def _fix(client_id: str | None) -> str:
    identity = (f"the managed identity with client id {client_id} must be assigned to this host"
                if client_id is not None else "give the host a managed identity")
    return ("sign in with `az login`, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
            f"(or AZURE_FEDERATED_TOKEN_FILE for workload identity), or {identity}")
