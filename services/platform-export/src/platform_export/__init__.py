"""The platform-export island: stock feeds to ~60 sales platforms; platform orders and tracking."""
