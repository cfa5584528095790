"""The webshop's read projections, kept by event handlers (batched: one multi-row statement per batch)."""
