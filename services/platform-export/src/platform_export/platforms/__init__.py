"""Sales platform configurations: feed format, markup, stock threshold, filters, delivery."""
