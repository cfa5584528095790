"""Shared runtime of every island: settings, database, Redis, logging, metrics, app factory."""
