"""The article master: ERP export in, validated and versioned by content."""
