"""Per-article stock aggregates over all suppliers' offers, and the events announcing their changes."""
