"""Small helpers shared by several features (JSON repair for structured output)."""
