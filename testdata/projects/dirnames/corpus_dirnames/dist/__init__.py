NAME = "dist"
