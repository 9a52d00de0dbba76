"""A Flask app that runs on the CPython bundled in its package."""

from flask import Flask


def create_app():
    """Return the app: / answers with the interpreter it runs on."""
    import platform

    app = Flask(__name__)

    @app.route("/")
    def index():
        return f"pyweb on CPython {platform.python_version()}\n"

    return app
