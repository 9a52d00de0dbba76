"""webapp: a small Flask application used as venvpkg's multi-wheel test project."""

from flask import Flask, render_template

__version__ = "1.0.0"


def create_app():
    """Return the Flask application."""
    app = Flask(__name__)

    @app.route("/")
    def index():
        # The name goes through Jinja2's autoescaping, which uses markupsafe's C speedups when they load.
        return render_template("index.html", name="<venvpkg>")

    @app.route("/versions")
    def versions():
        from webapp.cli import versions as collect

        return collect()

    return app
