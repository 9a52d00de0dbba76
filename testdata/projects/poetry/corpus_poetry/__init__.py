def main():
    print("corpus-poetry runs")
