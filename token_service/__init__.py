"""The token service: presentations, access tokens, subscribe rules, room lifecycle."""
