"""Shared pieces of Podium's services: configuration and the Redis state store."""
