package repo

import (
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// EventKind says what an Event reports.
type EventKind int

// Kinds of Event, in the order a download emits them.
const (
	// EventStarted: response headers arrived; Total is the size, or -1.
	EventStarted EventKind = iota + 1
	// EventProgress: Done of Total bytes received.
	EventProgress
	// EventRetrying: attempt Attempt failed with Err; the next follows
	// after Delay.
	EventRetrying
	// EventFinished: downloaded, verified and stored; Done is the size.
	EventFinished
	// EventCached: served without downloading a body (Source says whether
	// from the cache, a 304 answer or a local file); Done is the size.
	EventCached
	// EventFailed: given up after Attempt attempts with Err.
	EventFailed
)

// String names k: "started", "progress", …
func (k EventKind) String() string {
	names := [...]string{"", "started", "progress", "retrying", "finished", "cached", "failed"}
	if k > 0 && int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of one fetch, for progress display.
type Event struct {
	Kind    EventKind
	URL     string // credentials redacted
	Done    int64
	Total   int64 // -1 when unknown
	Attempt int
	Delay   time.Duration
	Source  Source // set on EventFinished and EventCached
	Err     error
}

// Renderer draws Events on a writer: on a terminal, a progress line redrawn
// in place; everywhere, a line per download and per retry, and a summary
// when something was downloaded. Files taken from the cache, revalidated
// or read locally get a line each only when Verbose is set. Its Handle
// method is meant for Options.Progress and is safe for concurrent use.
type Renderer struct {
	// Verbose adds a line per file that was not downloaded, and the
	// summary even when nothing was.
	Verbose bool

	mu       sync.Mutex
	w        io.Writer
	tty      bool
	width    int
	now      func() time.Time
	lastDraw time.Time
	active   map[string]*[2]int64 // URL → done, total
	order    []string             // active URLs, oldest first
	files    int                  // finished or cached
	fetched  int                  // finished
	bytes    int64                // of finished and cached files
	drawn    bool                 // a progress line is on screen
}

// redrawEvery throttles redraws of the progress line on EventProgress.
const redrawEvery = 100 * time.Millisecond

// NewRenderer returns a Renderer writing to w, drawing a progress line when
// w is a terminal.
func NewRenderer(w io.Writer) *Renderer {
	tty, width := false, 80
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
			width = wd
		}
	}
	return newRenderer(w, tty, width, time.Now)
}

func newRenderer(w io.Writer, tty bool, width int, now func() time.Time) *Renderer {
	return &Renderer{w: w, tty: tty, width: width, now: now, active: map[string]*[2]int64{}}
}

// Handle draws ev.
func (r *Renderer) Handle(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Kind {
	case EventStarted, EventProgress:
		r.track(ev)
		if ev.Kind == EventProgress && r.now().Sub(r.lastDraw) < redrawEvery {
			return
		}
	case EventRetrying:
		r.forget(ev.URL)
		r.println(fmt.Sprintf("retrying %s in %v: attempt %d: %v",
			ev.URL, ev.Delay.Round(time.Millisecond), ev.Attempt, ev.Err))
	case EventFinished, EventCached:
		r.forget(ev.URL)
		r.files++
		r.bytes += ev.Done
		if ev.Kind == EventFinished {
			r.fetched++
		}
		if r.Verbose || ev.Kind == EventFinished {
			r.println(fmt.Sprintf("%s %s (%s)", verb(ev.Source), ev.URL, formatBytes(ev.Done)))
		}
	case EventFailed:
		// The error reaches the user through the caller; only stop tracking.
		r.forget(ev.URL)
	}
	r.draw()
}

// Close removes the progress line and prints a summary of what was
// fetched, if anything was.
func (r *Renderer) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	if r.fetched > 0 || (r.Verbose && r.files > 0) {
		fmt.Fprintf(r.w, "%d %s (%s), %d downloaded\n", r.files, plural(r.files, "file", "files"),
			formatBytes(r.bytes), r.fetched)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func verb(s Source) string {
	switch s {
	case SourceCache:
		return "cached"
	case SourceNotModified:
		return "unchanged"
	case SourceLocal:
		return "local"
	}
	return "fetched"
}

func (r *Renderer) track(ev Event) {
	p, ok := r.active[ev.URL]
	if !ok {
		p = new([2]int64)
		r.active[ev.URL] = p
		r.order = append(r.order, ev.URL)
	}
	p[0], p[1] = ev.Done, ev.Total
}

func (r *Renderer) forget(url string) {
	if _, ok := r.active[url]; !ok {
		return
	}
	delete(r.active, url)
	for i, u := range r.order {
		if u == url {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
}

// println prints a line above the progress line.
func (r *Renderer) println(s string) {
	r.clear()
	fmt.Fprintln(r.w, s)
}

// clear erases the progress line.
func (r *Renderer) clear() {
	if r.drawn {
		fmt.Fprint(r.w, "\r\x1b[K")
		r.drawn = false
	}
}

// draw redraws the progress line on a terminal:
// "[=====>     ]  45% 1.2 MiB/2.6 MiB  3 done, 2 active  libcap-2.69-r0.apk",
// without the bar while a size is unknown.
func (r *Renderer) draw() {
	if !r.tty {
		return
	}
	r.clear()
	r.lastDraw = r.now()
	if len(r.order) == 0 {
		return
	}
	var done, total int64
	known := true
	for _, p := range r.active {
		done += p[0]
		if p[1] < 0 {
			known = false
		}
		total += max(p[1], 0)
	}
	line := fmt.Sprintf("%s  %d done, %d active  %s",
		sizes(done, total, known), r.files, len(r.order), path.Base(r.order[len(r.order)-1]))
	if b := bar(done, total, known); b != "" {
		line = b + " " + line
	}
	if len(line) > r.width-1 {
		line = line[:r.width-1]
	}
	fmt.Fprint(r.w, line)
	r.drawn = true
}

// bar draws a 20-column bar and a percentage.
func bar(done, total int64, known bool) string {
	const width = 20
	if !known || total <= 0 {
		return "" // a bar needs every size
	}
	fill := int(min(done, total) * width / total)
	arrow := strings.Repeat("=", fill)
	if fill < width {
		arrow += ">" + strings.Repeat(" ", width-fill-1)
	}
	return fmt.Sprintf("[%s] %3d%%", arrow, min(done, total)*100/total)
}

func sizes(done, total int64, known bool) string {
	if !known {
		return formatBytes(done)
	}
	return formatBytes(done) + "/" + formatBytes(total)
}

// formatBytes prints n in binary units: "512 B", "29.6 KiB", "1.2 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
