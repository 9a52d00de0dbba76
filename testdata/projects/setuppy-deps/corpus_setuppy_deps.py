import click


@click.command()
@click.option("--name", default="world")
def main(name):
    click.echo(f"corpus-setuppy-deps greets {name} with click {click.__version__}")
