"""The vehicle-data island: vehicle variants, fitment rules and the product-vehicle mapping."""
