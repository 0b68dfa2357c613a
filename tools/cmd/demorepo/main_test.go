package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"publish"}},
		{"build without OUTDIR", []string{"build", "--cache", "/tmp/x"}},
		{"build without cache", []string{"build", "out"}},
		{"check without OUTDIR", []string{"check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RULES_APK_DEMO_CACHE", "")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("run(%q) = %v, want flag.ErrHelp", tt.args, err)
			}
			if !strings.Contains(stderr.String(), "usage:") {
				t.Errorf("stderr = %q, want the usage", stderr.String())
			}
		})
	}
}

func TestRunCheckMissingRepository(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"check", t.TempDir()}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no packages in") {
		t.Errorf("check of an empty directory = %v, want an error naming the missing packages", err)
	}
}
