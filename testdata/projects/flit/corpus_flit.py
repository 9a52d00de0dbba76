"""A module built by flit_core, its description and version read from here."""

__version__ = "3.1.4"


def main():
    print("corpus-flit", __version__)
