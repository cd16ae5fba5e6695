"""Small domains that are not Fleet's own, declared as catalogs."""
