"""Product search: filters, keyset-paged queries on ``catalog_article``, facet cache and the HTTP API."""
