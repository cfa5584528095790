"""Supplier feed imports: declarative mappings, streaming parsers, bulk offer writes, batch reports."""
