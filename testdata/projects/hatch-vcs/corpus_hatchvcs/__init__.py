import importlib.metadata


def main():
    print("corpus-hatchvcs", importlib.metadata.version("corpus-hatchvcs"))
