package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pack builds one package into the cache: stage its tree, then run
// apkpack pack, which detects so:, pc: and cmd: names.
func (b *builder) pack(ctx context.Context, p *plan) error {
	start := time.Now()
	stage, err := os.MkdirTemp(b.scratch, p.recipe.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	builddate, err := b.stage(ctx, p, stage)
	if err != nil {
		return fmt.Errorf("staging %s: %w", p.file(), err)
	}
	args, err := b.packArgs(ctx, p, builddate)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.cached), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(p.cached), ".tmp-"+p.file())
	args = append(args, stage, "-o", tmp)
	if err := b.apkpack(ctx, args...); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("packing %s: %w", p.file(), err)
	}
	if err := os.Rename(tmp, p.cached); err != nil {
		return err
	}
	p.packed = true
	took := time.Since(start).Round(time.Millisecond)
	b.log.Info("packed", "package", p.file(), "seconds", took.Seconds())
	return nil
}

// stage writes the package tree of p into dir and returns its builddate:
// the newest mtime of the files the .deb files put there (Debian sets file
// mtimes to the changelog date), or a constant for a generated package.
func (b *builder) stage(ctx context.Context, p *plan, dir string) (int64, error) {
	r := p.recipe
	st := newStager(dir)
	for _, src := range r.Sources {
		tree, err := b.extract(ctx, src.Deb)
		if err != nil {
			return 0, err
		}
		if err := st.addTree(tree, src.Deb, filter{keep: src.Keep, drop: src.Drop}); err != nil {
			return 0, err
		}
	}
	for _, l := range r.Links {
		if err := st.addLink(l.Path, l.Target, "recipe "+r.Name); err != nil {
			return 0, err
		}
	}
	if r.Generator != "" {
		gen, ok := generators[r.Generator]
		if !ok {
			return 0, fmt.Errorf("recipe %s: no generator %q", r.Name, r.Generator)
		}
		if err := gen(dir); err != nil {
			return 0, err
		}
	}
	if len(r.Sources) == 0 {
		return baselayoutBuildDate, nil
	}
	if st.newest.IsZero() {
		return 0, fmt.Errorf("recipe %s keeps no file of %s", r.Name, strings.Join(r.Debs(), ", "))
	}
	return st.newest.Unix(), nil
}

// packArgs returns the apkpack pack flags of p.
func (b *builder) packArgs(ctx context.Context, p *plan, builddate int64) ([]string, error) {
	r := p.recipe
	desc, url := r.Description, r.URL
	if len(r.Sources) > 0 && (desc == "" || url == "") {
		ctl, err := b.control(ctx, r.Sources[0].Deb)
		if err != nil {
			return nil, err
		}
		if desc == "" {
			desc, _, _ = strings.Cut(ctl["Description"], "\n")
		}
		if url == "" {
			url = ctl["Homepage"]
		}
	}
	args := []string{"pack", "--signing-key", b.key.Private,
		"--name", r.Name, "--version", p.version, "--arch", Arch, "--origin", p.origin,
		"--description", desc, "--license", r.License,
		"--builddate", strconv.FormatInt(builddate, 10),
	}
	if url != "" {
		args = append(args, "--url", url)
	}
	if r.ProviderPriority > 0 {
		args = append(args, "--provider-priority", strconv.FormatUint(r.ProviderPriority, 10))
	}
	for _, list := range []struct {
		flag   string
		values []string
	}{{"--depend", r.Depends}, {"--provide", r.Provides}, {"--skip-depend", r.SkipDepends},
		{"--owner", r.Owners}} {
		for _, v := range list.values {
			args = append(args, list.flag, v)
		}
	}
	return args, nil
}

// apkpack runs the apkpack binary; its stderr (detection warnings) goes to
// the debug log, or into the error when it fails.
func (b *builder) apkpack(ctx context.Context, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.o.Apkpack, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return fmt.Errorf("apkpack %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	if stderr.Len() > 0 {
		b.log.Debug("apkpack "+args[0], "stderr", stderr.String())
	}
	return nil
}

// extract unpacks a .deb once per Build and returns its tree.
func (b *builder) extract(ctx context.Context, name string) (string, error) {
	b.mu.Lock()
	e, ok := b.extracted[name]
	if !ok {
		e = &extraction{dir: filepath.Join(b.scratch, "debs", name)}
		b.extracted[name] = e
	}
	b.mu.Unlock()
	e.once.Do(func() { e.err = Extract(ctx, b.paths[name], e.dir) })
	return e.dir, e.err
}

// control returns a .deb's control fields, read once per Build.
func (b *builder) control(ctx context.Context, name string) (map[string]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.controls[name]; ok {
		return c, nil
	}
	c, err := ReadControl(ctx, b.paths[name])
	if err != nil {
		return nil, err
	}
	b.controls[name] = c
	return c, nil
}
