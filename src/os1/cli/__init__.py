"""The ``os1`` command line."""
