from setuptools import setup

setup(
    name="corpus-setuppy",
    version="2.0.1",
    description="A project declared in setup.py alone",
    url="https://setuppy.example.org",
    author="Setup Author",
    author_email="setup@example.org",
    license="MIT",
    packages=["corpus_setuppy"],
    entry_points={"console_scripts": ["corpus-setuppy = corpus_setuppy.cli:main"]},
)
