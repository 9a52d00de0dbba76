"""The ``webapp`` console script: print the versions it runs with, or serve the app."""

import argparse
import importlib.metadata
import platform
import sys

DISTRIBUTIONS = ("webapp", "flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click")


def versions():
    """Map each distribution webapp runs with, and Python, to its version."""
    found = {name: importlib.metadata.version(name) for name in DISTRIBUTIONS}
    found["python"] = platform.python_version()
    return found


def speedups():
    """Report whether markupsafe's C extension is the implementation in use."""
    import markupsafe

    return "c" if markupsafe.escape.__module__ == "markupsafe._speedups" else "python"


def main(argv=None):
    """Print the versions, or serve on 127.0.0.1 with --port; returns the exit status."""
    parser = argparse.ArgumentParser(prog="webapp", description="A small Flask app packaged by venvpkg.")
    parser.add_argument("--port", type=int, help="serve on 127.0.0.1:PORT instead of printing versions")
    args = parser.parse_args(argv)
    if args.port is not None:
        from webapp import create_app

        create_app().run(host="127.0.0.1", port=args.port)
        return 0
    for name, version in versions().items():
        print(f"{name} {version}")
    print(f"markupsafe-speedups {speedups()}")
    print(f"prefix {sys.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
