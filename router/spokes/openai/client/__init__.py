"""OpenAI Chat clients: their request → hub request; hub answer and events → their answer and stream."""
