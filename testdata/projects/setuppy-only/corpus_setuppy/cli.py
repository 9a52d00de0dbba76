import importlib.metadata


def main():
    print("corpus-setuppy", importlib.metadata.version("corpus-setuppy"))
