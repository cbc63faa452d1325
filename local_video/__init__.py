"""Podium's local video backend: Twilio-compatible Rooms REST + signalling on Janus."""
