"""procmine."""
