"""A domain-free actor runtime."""
