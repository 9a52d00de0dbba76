def main():
    print("hello from demo")
