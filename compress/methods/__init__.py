"""Compression methods, one or a few per module; each module registers its methods on import
(`rankbench.compress.registry.register_method`) and `registry.load_methods()` imports them all."""
