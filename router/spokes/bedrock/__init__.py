"""Amazon Bedrock upstreams from the hub: hub request → Converse request, Converse answers and ConverseStream events → hub; Claude's own body through InvokeModel."""
