// Command venvpkg builds a Python project and its whole pinned virtualenv
// into a native package.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/venvpkg/venvpkg/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
