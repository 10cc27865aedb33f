"""LEDES 1998B / 1998BI: field lists, parser and writer (one implementation for the whole project)."""
