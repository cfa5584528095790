"""The order bridge: orders from the webshop and the platforms to the ERP, exactly once; status back."""
