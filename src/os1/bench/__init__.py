"""Benchmarks behind ``os1 bench``: they print figures; they are not tests."""
