package repo

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestFetchHTTPS fetches an index and a package over TLS from a server on
// 127.0.0.1, with a client that trusts its certificate; a client that does
// not refuses, naming the URL and the certificate, and caches nothing.
func TestFetchHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(testutil.RealData(t, "rsa256-index"))))
	// The refused handshake below is expected: keep it out of the test log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s is not https on 127.0.0.1", srv.URL)
	}
	c, _ := newTestClient(t, Options{HTTPClient: srv.Client()})
	index, err := c.Fetch(t.Context(), Request{URL: IndexURL(srv.URL, "aarch64"), Revalidate: true})
	if err != nil {
		t.Fatal(err)
	}
	if index.SHA256 != realIndexSHA256 || index.Source != SourceNetwork {
		t.Errorf("index: sha256 %s from %v, want %s from the network", index.SHA256, index.Source, realIndexSHA256)
	}
	pkg, err := c.Fetch(t.Context(), Request{
		URL:    PackageURL(srv.URL, "aarch64", "alpine-baselayout", "3.2.0-r23"),
		SHA256: realPackageSHA256, Size: realPackageSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256Hex(readFile(t, pkg.Path)); sum != realPackageSHA256 {
		t.Errorf("package has sha256 %s, want %s", sum, realPackageSHA256)
	}

	cacheDir := t.TempDir()
	untrusting, _ := newTestClient(t, Options{CacheDir: cacheDir, Attempts: 1})
	url := IndexURL(srv.URL, "aarch64")
	_, err = untrusting.Fetch(t.Context(), Request{URL: url, Revalidate: true})
	if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("fetch with an untrusted certificate: %v, want an error naming %s and the certificate", err, url)
	}
	if files := cacheFiles(t, cacheDir); len(files) != 0 {
		t.Errorf("a failed fetch left %v in the cache", files)
	}
}
