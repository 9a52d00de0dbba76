def main():
    print("corpus-dynamic runs")
