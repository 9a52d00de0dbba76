from corpus_dirnames import build, dist, node_modules, venv


def main():
    print("corpus-dirnames", build.NAME, dist.NAME, venv.NAME, node_modules.NAME)
