"""Customer orders: placement with an idempotency key, announced to the ERP bridge, status from the ERP."""
