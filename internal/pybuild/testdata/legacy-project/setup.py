from setuptools import setup

setup(
    name="legacy-demo",
    version="0.3",
    py_modules=["legacy_demo"],
)
