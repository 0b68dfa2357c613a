package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestHint: network causes deep in a wrapped error get a line saying what
// to do; other errors get none.
func TestHint(t *testing.T) {
	dns := fmt.Errorf("fetching index: %w", &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "repo.invalid", IsNotFound: true}})
	refused := fmt.Errorf("fetching index: %w", &net.OpError{Op: "dial", Net: "tcp",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unresolvable host", dns, "hint: the host repo.invalid cannot be resolved from here"},
		{"refused", refused, "hint: nothing accepts connections at that address"},
		{"other", errors.New("lockfile: parsing JSON"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hint(tt.err)
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("hint = %q, want it to start with %q", got, tt.want)
			}
		})
	}
}
