"""hello: a tiny greeting app used as venvpkg's example project."""

__version__ = "1.0.0"
