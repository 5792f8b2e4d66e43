"""Channel adapters: one small class per platform, each on its own SDK."""
