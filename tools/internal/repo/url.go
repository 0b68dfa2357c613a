package repo

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// IndexURL returns where the index of repository for arch lives:
// <repository>/<arch>/APKINDEX.tar.gz (§2.3). repository is an http, https or
// file URL or an absolute directory; trailing slashes are ignored.
func IndexURL(repository, arch string) string {
	return strings.TrimRight(repository, "/") + "/" + arch + "/APKINDEX.tar.gz"
}

// PackageURL returns where a package lives in repository:
// <repository>/<arch>/<name>-<version>.apk. arch must be the package's own A:
// field, not the arch of the index that listed it: apk-tools 2.14
// (apk_repo_format_real_url) fetches a noarch package from the noarch
// directory (§2.3).
func PackageURL(repository, arch, name, version string) string {
	return strings.TrimRight(repository, "/") + "/" + arch + "/" + name + "-" + version + ".apk"
}

// target is a parsed request URL: either a local file or a remote URL.
type target struct {
	shown string   // the URL with credentials redacted, for messages and events
	local string   // a local file path, or ""
	u     *url.URL // the remote URL, or nil
	key   string   // the remote URL without userinfo and fragment: the cache key
}

// parseTarget accepts http and https URLs, file URLs and absolute paths.
func parseTarget(raw string) (target, error) {
	if strings.HasPrefix(raw, "/") {
		return target{shown: raw, local: filepath.Clean(raw)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the raw URL, credentials included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return target{}, fmt.Errorf("parsing URL: %w", err)
	}
	t := target{shown: redact(u)}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return target{}, errors.New("URL has no host")
		}
		t.u = u
		k := *u
		k.User, k.Fragment, k.RawFragment = nil, "", ""
		t.key = k.String()
		return t, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return target{}, fmt.Errorf("file URL names host %q; only local files are supported",
				u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return target{}, errors.New("file URL path is not absolute")
		}
		t.local = filepath.Clean(u.Path)
		return t, nil
	case "":
		return target{}, errors.New("not a URL and not an absolute path")
	default:
		return target{}, fmt.Errorf(
			"unsupported URL scheme %q (want https, http, file or an absolute path)", u.Scheme)
	}
}

// redact hides the userinfo of u and the values of its query (signed URLs
// carry secrets there), so that the result can be logged.
func redact(u *url.URL) string {
	r := *u
	if r.User != nil {
		r.User = url.User("xxxxx")
	}
	if r.RawQuery != "" {
		q := r.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			q[k] = vs
		}
		r.RawQuery = q.Encode()
	}
	return r.String()
}

// redactString redacts a URL string, even one that does not parse.
func redactString(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return redact(u)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if q := strings.Index(rest, "?"); q >= 0 {
		rest = rest[:q] + "?xxxxx"
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = "xxxxx@" + authority[at+1:]
	}
	if hasPath {
		path = "/" + path
	}
	return scheme + "://" + authority + path
}
