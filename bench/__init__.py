"""Fleet's benchmark harness: ``python -m bench <scenario> [options]``."""
