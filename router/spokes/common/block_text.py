"""Hub (Anthropic) content blocks that an upstream without such a block reads as text: a text
document, a search result, the notes that stand in for what a target cannot take.

Shared by every upstream spoke that converts blocks (Chat, Responses, Gemini), so a document
reads the same whichever upstream gets it.
"""

from __future__ import annotations

from typing import Any

from router.spokes.common.invalid import require_str, wrong_type

# What separates consecutive text blocks joined into one string: blocks are paragraphs (Claude
# Code's system prompt is three blocks that would otherwise run into each other mid-sentence).
TEXT_SEPARATOR = "\n\n"

# A text-only target gets a visible note instead of the image or file: dropping it silently would
# change what the user asked ("what is in this picture?" about nothing), and the note lets the
# model say it cannot see it.
IMAGE_OMITTED = "[image omitted: this model does not accept images]"
FILE_OMITTED = "[document omitted: this model does not accept files]"
IMAGE_SOURCE_UNSUPPORTED = "[image omitted: its source type cannot be sent to this model]"


def document_text(block: dict[str, Any], source: dict[str, Any], kind: str, source_path: str) -> str | None:
    """A plain-text or content document's text, after its title; None for the other sources
    (a PDF, a URL, a file id), which each upstream sends its own way."""
    if kind == "text":
        return titled(block, require_str(source, "data", source_path))
    if kind == "content":
        return titled(block, nested_text(source.get("content"), f"{source_path}.content"))
    return None


def titled(block: dict[str, Any], text: str) -> str:
    """A document's text after its title, when it has one: the title is often all that says what
    the text is."""
    title = block.get("title")
    return f"{title}{TEXT_SEPARATOR}{text}" if type(title) is str and title else text


def search_result_text(block: dict[str, Any], path: str) -> str:
    """A search result reads as its title, its source, then its text."""
    head = [value for value in (block.get("title"), block.get("source")) if type(value) is str and value]
    text = nested_text(block.get("content"), f"{path}.content")
    return TEXT_SEPARATOR.join([*head, text]) if head else text


def nested_text(content: Any, path: str) -> str:
    """The text of a string or a list of text blocks (documents, search results)."""
    if content is None or type(content) is str:
        return content or ""
    if type(content) is not list:
        raise wrong_type("str | array", content, path)
    texts = []
    for index, block in enumerate(content):
        if type(block) is dict and block.get("type") == "text":
            texts.append(require_str(block, "text", f"{path}[{index}]"))
    return TEXT_SEPARATOR.join(texts)


def pdf_filename(block: dict[str, Any]) -> str:
    """A PDF document's file name for the upstream: its title, else a neutral name (a file part
    needs one)."""
    title = block.get("title")
    return title if type(title) is str and title else "document.pdf"
