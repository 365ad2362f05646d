"""OpenAI Chat Completions clients (the openai SDKs, Codex, most tools): /v1/chat/completions."""

from __future__ import annotations

from litestar import asgi

from router.core.answer import Answer
from router.gateway.dispatch import dispatch
from router.gateway.endpoint import answer_request
from router.gateway.incoming import Incoming, Receive, Scope, Send
from router.gateway.state import RouterState


@asgi("/v1/chat/completions", copy_scope=False)
async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
    await answer_request(scope, receive, send, "openai", _dispatch)


async def _dispatch(state: RouterState, incoming: Incoming, request_id: str) -> Answer:
    return await dispatch(state, incoming, "openai", request_id)
