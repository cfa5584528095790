"""The vehicle selector and the vehicle → products lookups of the storefront."""
