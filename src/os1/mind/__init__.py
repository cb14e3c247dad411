"""The mind: language models, persona, context assembly and the conversation engine."""
