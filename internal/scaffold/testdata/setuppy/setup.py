from setuptools import setup
setup(name="legacy", version="1.0", py_modules=["legacy"])
