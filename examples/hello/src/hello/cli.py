"""The ``hello`` console script."""

import argparse
import platform
import sys

from hello import __version__


def greeting(name=None):
    """Return the greeting lines: who greets whom, and which Python in which prefix runs it."""
    who = f"Hello, {name}, from hello {__version__}!" if name else f"Hello from hello {__version__}!"
    return f"{who}\nPython {platform.python_version()} at {sys.prefix}"


def main(argv=None):
    """Print the greeting; returns the exit status."""
    parser = argparse.ArgumentParser(prog="hello", description="Print a greeting and the Python that runs it.")
    parser.add_argument("--name", help="whom to greet")
    parser.add_argument("--version", action="version", version=f"hello {__version__}")
    args = parser.parse_args(argv)
    print(greeting(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
