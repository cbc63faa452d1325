"""Media load benchmark of the local video backend (Janus CPU per attendee)."""
