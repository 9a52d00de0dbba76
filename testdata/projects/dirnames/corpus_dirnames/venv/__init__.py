NAME = "venv"
