"""EditMGT's Python tools: one package, imported as ``tools.*`` from the repository root (``python3 -m tools....``)."""
