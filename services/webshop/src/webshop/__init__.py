"""The webshop island: storefront read projections (catalogue, availability, fitment replica, wheel sets) and orders."""
