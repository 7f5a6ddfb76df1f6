"""Laurel: continuing-education credit and certification."""
