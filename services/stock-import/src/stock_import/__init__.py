"""The stock-import island: supplier feeds in, per-article availability aggregates and stock events out."""
