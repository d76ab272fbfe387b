"""Checkpoint conversion: read an EditMGT/Meissonic checkpoint folder, strict-load it, export a model package."""
