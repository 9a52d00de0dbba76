"""demo_app is a package for venvpkg's build tests."""
