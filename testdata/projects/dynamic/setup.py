from setuptools import setup

setup(
    version="5.0",
    description="Described in setup.py, not in pyproject.toml",
    long_description="A long description\n\nwritten in setup.py.\n",
    long_description_content_type="text/plain",
    url="https://dynamic.example.org",
    project_urls={"Source": "https://dynamic.example.org/src"},
)
