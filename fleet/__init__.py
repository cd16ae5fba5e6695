"""Fleet: an append-only event store."""
