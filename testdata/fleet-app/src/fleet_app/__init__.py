"""fleet-app: the service venvpkg's fleet tests roll out to hosts and back."""

from importlib.metadata import version

__version__ = version("fleet-app")
