"""Platform orders: imported from the platforms' order APIs, handed to the ERP bridge; tracking pushed back."""
