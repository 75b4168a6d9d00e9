"""Writes. Every workflow (admin, API, tasks, commands) goes through these functions."""
