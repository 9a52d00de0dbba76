"""A small HTTP service on the standard library, for venvpkg's service tests."""

from importlib.metadata import version

__version__ = version("greeter")
