"""Podium's web service: pages, browser code, presentation state as JSON and SSE."""
