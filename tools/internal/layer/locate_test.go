package layer

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/repo"
)

// TestMissingErrorGroupsCauses: packages that fail for the same reason give
// one line with a count and an example URL, and an unreachable host gets
// the hint to use a mirror.
func TestMissingErrorGroupsCauses(t *testing.T) {
	// What the repository client returns when the host does not resolve:
	// "fetching https://…/a-1.apk: dial tcp: lookup repo.invalid: no such host".
	dns := func(name string) error {
		return &repo.FetchError{URL: "https://repo.invalid/x86_64/" + name + ".apk", Attempts: 1,
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host",
				Name: "repo.invalid", IsNotFound: true}}}
	}
	e := &MissingError{
		Packages: []string{"a-1", "b-1", "c-1", "d-1"},
		Errs: []error{dns("a-1"), dns("b-1"),
			errors.New("fetching https://repo.invalid/x86_64/c-1.apk: 404 Not Found"), dns("d-1")},
	}
	got := e.Error()
	want := "4 locked packages not found (a-1, b-1, c-1, d-1): run `apkpack fetch` or pass them " +
		"with --package or --packages-dir\n" +
		"  fetching <url>: dial tcp: lookup repo.invalid: no such host (3 of them; <url> is e.g. " +
		"https://repo.invalid/x86_64/a-1.apk)\n" +
		"  fetching <url>: 404 Not Found (1 of them; <url> is e.g. https://repo.invalid/x86_64/c-1.apk)\n" +
		"The repository cannot be reached from here: fetch the packages where it can, or give a " +
		"reachable copy with --mirror REPOSITORY=URL."
	if got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	local := (&MissingError{Packages: []string{"a-1"}, Errs: []error{errors.New("no file a-1.apk in dir")}}).Error()
	if strings.Contains(local, "--mirror") || !strings.HasSuffix(local, "\n  no file a-1.apk in dir") {
		t.Errorf("a local miss: %q", local)
	}
}
