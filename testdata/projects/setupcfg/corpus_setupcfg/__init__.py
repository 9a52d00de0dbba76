from importlib.resources import files


def main():
    print("corpus-setupcfg", files(__name__).joinpath("data/greeting.txt").read_text().strip())
