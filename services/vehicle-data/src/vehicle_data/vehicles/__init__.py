"""Vehicle variants and their axle fitments, synced from the vehicle data provider."""
