"""OpenAI Chat Completions clients on Anthropic Messages upstreams (the `openai__anthropic` pair).

    request.py    the [request] table's functions (FUNCTIONS); the structure lives in
                  messages.py (system, tool results, alternation), content.py (parts → blocks),
                  tools.py (tools, tool_choice, response_format), thinking.py (effort, max_tokens)
    response.py   the [response] table's functions (FUNCTIONS): message → chat.completion
    stream.py     OpenAIStreamFromAnthropic, the stream machine
"""
