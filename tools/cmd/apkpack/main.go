// Command apkpack resolves, verifies, packs and layers APK packages for
// rules_apk. Run apkpack --help for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rules-apk/rules_apk/tools/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
