"""The erp-middleware island: eRP article master in, catalogue events out; orders to the ERP and status back."""
