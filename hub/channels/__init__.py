"""Channel adapters: one module per channel, registered in ``registry.py``."""
