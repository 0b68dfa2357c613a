// Command synthrepo writes the synthetic Wolfi-sized repository of the
// benchmarks (package synth) into the user cache directory, if it is not
// there yet, and prints its directory.
//
//	go run ./tools/bench/synthrepo [--signing-key KEY]
//
// The directory holds x86_64/APKINDEX.tar.gz (200,000 records, signed),
// the package files of the so:libcurl.so.4 closure next to it, and the
// public key.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/synth"
)

func main() {
	keyPath := flag.String("signing-key", "tools/internal/apk/testdata/index-test.rsa",
		"private key that signs the index and the packages")
	flag.Parse()
	if err := run(*keyPath); err != nil {
		fmt.Fprintln(os.Stderr, "synthrepo:", err)
		os.Exit(1)
	}
}

func run(keyPath string) error {
	key, err := apk.LoadSigningKey(keyPath)
	if err != nil {
		return fmt.Errorf("loading the signing key: %w", err)
	}
	dir, err := synth.CachedRepo(key)
	if err != nil {
		return err
	}
	fmt.Println(dir)
	return nil
}
