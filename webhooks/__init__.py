"""The webhooks service: merges signed room status callbacks into Redis."""
