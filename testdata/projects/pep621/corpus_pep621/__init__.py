def main():
    print("corpus-pep621 runs")
