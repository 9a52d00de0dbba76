"""The ``pyweb`` console script: print what it runs with."""

import importlib.metadata
import platform
import sys
import sysconfig

DISTRIBUTIONS = ("pyweb", "flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "pyzmq")


def main():
    """Print the versions, the C extensions in use and the interpreter's paths."""
    for name in DISTRIBUTIONS:
        print(f"{name} {importlib.metadata.version(name)}")
    print(f"python {platform.python_version()}")
    import markupsafe
    import zmq

    speedups = "c" if markupsafe.escape.__module__ == "markupsafe._speedups" else "python"
    print(f"markupsafe-speedups {speedups}")
    print(f"libzmq {zmq.zmq_version()}")
    print(f"prefix {sys.prefix}")
    print(f"base-prefix {sys.base_prefix}")
    print(f"stdlib {sysconfig.get_path('stdlib')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
