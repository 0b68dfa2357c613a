// Command synthrepo writes the synthetic Wolfi-sized repository of the
// benchmarks (package synth) into the user cache directory, if it is not
// there yet, and prints its directory. With --serve it then serves the
// directory over http on 127.0.0.1 and prints its URL as a second line,
// until it is killed.
//
//	go run ./tools/bench/synthrepo [--signing-key KEY] [--serve]
//
// The directory holds x86_64/APKINDEX.tar.gz (200,000 records, signed),
// the package files of the so:libcurl.so.4 closure next to it, and the
// public key.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/synth"
)

func main() {
	keyPath := flag.String("signing-key", "tools/internal/apk/testdata/index-test.rsa",
		"private key that signs the index and the packages")
	serve := flag.Bool("serve", false, "serve the repository on 127.0.0.1 until killed")
	flag.Parse()
	if err := run(*keyPath, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "synthrepo:", err)
		os.Exit(1)
	}
}

func run(keyPath string, serve bool) error {
	key, err := apk.LoadSigningKey(keyPath)
	if err != nil {
		return fmt.Errorf("loading the signing key: %w", err)
	}
	dir, err := synth.CachedRepo(key)
	if err != nil {
		return err
	}
	fmt.Println(dir)
	if !serve {
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serving the synthetic repository: %w", err)
	}
	fmt.Printf("http://%s\n", l.Addr())
	if err := http.Serve(l, http.FileServer(http.Dir(dir))); err != nil {
		return fmt.Errorf("serving the synthetic repository: %w", err)
	}
	return nil
}
