"""Fault injection, call counts and request recording for tests."""
