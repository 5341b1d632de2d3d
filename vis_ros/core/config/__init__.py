"""The node's parameters, the typed settings built from them, and the factories that build objects from those."""
