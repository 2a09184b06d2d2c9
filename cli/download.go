package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ddpmstudio/ddpmstudio/hub"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// runDownload fetches a Hub model into the Hugging Face cache (or finds it
// there) and prints its snapshot folder.
func runDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("download")
	variant := fs.String("variant", "", "weights variant to fetch where the repository has one (e.g. fp16)")
	quiet := fs.Bool("quiet", false, "no progress line")
	// The model id may stand before or after the flags.
	var id string
	var rest []string
	for _, a := range args {
		if id == "" && !strings.HasPrefix(a, "-") {
			id = a
			continue
		}
		rest = append(rest, a)
	}
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	if id == "" {
		return errors.New("download: give a model id, owner/name[@revision]")
	}
	repo, rev, ok := studio.ParseRepoID(id)
	if !ok {
		return fmt.Errorf("download: %q is not a Hub model id (owner/name[@revision])", id)
	}
	var progress func(hub.Progress)
	if !*quiet {
		progress = progressLine(stderr)
	}
	dir, commit, err := studio.ResolveHub(ctx, repo, rev, *variant, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", dir)
	fmt.Fprintf(stderr, "%s@%s\n", repo, commit)
	return nil
}

// progressLine is a download's one updating line: file, bytes, rate, ETA.
func progressLine(w io.Writer) func(hub.Progress) {
	var file string
	var start, last time.Time
	return func(p hub.Progress) {
		now := time.Now()
		if p.File != file {
			file, start = p.File, now
		}
		if now.Sub(last) < 100*time.Millisecond && p.Done != p.Total {
			return
		}
		last = now
		rate := float64(p.Done) / max(now.Sub(start).Seconds(), 1e-3)
		eta := time.Duration(float64(p.Total-p.Done)/max(rate, 1)) * time.Second
		fmt.Fprintf(w, "\rdownloading %s: %.1f/%.1f MB · %.1f MB/s · ETA %s   ", file,
			float64(p.Done)/1e6, float64(p.Total)/1e6, rate/1e6, eta.Round(time.Second))
		if p.Done == p.Total {
			fmt.Fprintln(w)
		}
	}
}
