package repo

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIndexAndPackageURL(t *testing.T) {
	tests := []struct {
		name, repository, arch string
		wantIndex, wantPackage string
	}{
		{
			name:       "https",
			repository: "https://packages.wolfi.dev/os", arch: "x86_64",
			wantIndex:   "https://packages.wolfi.dev/os/x86_64/APKINDEX.tar.gz",
			wantPackage: "https://packages.wolfi.dev/os/x86_64/libcap-2.69-r0.apk",
		},
		{
			name:       "trailing slashes",
			repository: "https://dl-cdn.alpinelinux.org/alpine/v3.16/main//", arch: "aarch64",
			wantIndex:   "https://dl-cdn.alpinelinux.org/alpine/v3.16/main/aarch64/APKINDEX.tar.gz",
			wantPackage: "https://dl-cdn.alpinelinux.org/alpine/v3.16/main/aarch64/libcap-2.69-r0.apk",
		},
		{
			name:       "noarch package (§2.3: the package's own A: field)",
			repository: "https://packages.wolfi.dev/os", arch: "noarch",
			wantIndex:   "https://packages.wolfi.dev/os/noarch/APKINDEX.tar.gz",
			wantPackage: "https://packages.wolfi.dev/os/noarch/libcap-2.69-r0.apk",
		},
		{
			name:       "file URL",
			repository: "file:///srv/repo/", arch: "x86_64",
			wantIndex:   "file:///srv/repo/x86_64/APKINDEX.tar.gz",
			wantPackage: "file:///srv/repo/x86_64/libcap-2.69-r0.apk",
		},
		{
			name:       "plain directory",
			repository: "/srv/repo", arch: "x86_64",
			wantIndex:   "/srv/repo/x86_64/APKINDEX.tar.gz",
			wantPackage: "/srv/repo/x86_64/libcap-2.69-r0.apk",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{
				IndexURL(tt.repository, tt.arch),
				PackageURL(tt.repository, tt.arch, "libcap", "2.69-r0"),
			}
			if diff := cmp.Diff([]string{tt.wantIndex, tt.wantPackage}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		raw     string
		want    target // u is not compared
		wantErr string
	}{
		{raw: "/srv/repo/x86_64/APKINDEX.tar.gz",
			want: target{shown: "/srv/repo/x86_64/APKINDEX.tar.gz", local: "/srv/repo/x86_64/APKINDEX.tar.gz"}},
		{raw: "file:///srv/repo//x86_64/a.apk",
			want: target{shown: "file:///srv/repo//x86_64/a.apk", local: "/srv/repo/x86_64/a.apk"}},
		{raw: "file://localhost/srv/a.apk",
			want: target{shown: "file://localhost/srv/a.apk", local: "/srv/a.apk"}},
		{raw: "https://h.example/os/a.apk#frag",
			want: target{shown: "https://h.example/os/a.apk#frag", key: "https://h.example/os/a.apk"}},
		{raw: "https://user:pw@h.example/os/a.apk?token=t0p",
			want: target{shown: "https://xxxxx@h.example/os/a.apk?token=xxxxx",
				key: "https://h.example/os/a.apk?token=t0p"}},
		{raw: "ftp://h.example/a.apk",
			wantErr: `unsupported URL scheme "ftp" (want https, http, file or an absolute path)`},
		{raw: "repo/x86_64/a.apk", wantErr: "not a URL and not an absolute path"},
		{raw: "file://otherhost/a.apk",
			wantErr: `file URL names host "otherhost"; only local files are supported`},
		{raw: "https:///a.apk", wantErr: "URL has no host"},
		{raw: "https://user:pw@h.example/%zz", wantErr: `parsing URL: invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseTarget(tt.raw)
			if diff := cmp.Diff(tt.wantErr, errorText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			got.u = nil
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(target{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactString(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"https://h.example/os/a.apk", "https://h.example/os/a.apk"},
		{"https://u:secret@h.example/a.apk", "https://xxxxx@h.example/a.apk"},
		{"https://secret@h.example/a.apk?sig=secret&x=secret",
			"https://xxxxx@h.example/a.apk?sig=xxxxx&x=xxxxx"},
		// Unparsable URLs are redacted by hand.
		{"https://u:secret@h.example/%zz?sig=secret", "https://xxxxx@h.example/%zz?xxxxx"},
		{"https://u:secret@h.example%zz", "https://xxxxx@h.example%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, redactString(tt.raw)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
