from setuptools import setup

setup(
    name="corpus-setuppy-deps",
    version="0.4",
    description="Its dependencies are declared in setup.py only",
    author="Deps Author",
    author_email="deps@example.org",
    py_modules=["corpus_setuppy_deps"],
    install_requires=["click>=8"],
    entry_points={"console_scripts": ["corpus-setuppy-deps = corpus_setuppy_deps:main"]},
)
