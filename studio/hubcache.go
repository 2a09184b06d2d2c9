package studio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/hub"
)

// This file finds models that diffusers (huggingface_hub) already
// downloaded, with no network: the cache layout is huggingface_hub's,
//
//	<cache>/models--<owner>--<name>/refs/<revision>      the commit a branch or tag points at
//	<cache>/models--<owner>--<name>/snapshots/<commit>/  the files, as links into blobs/
//
// and a model opens from the snapshot itself (a UNet2DModel saved flat) or
// from its unet/ folder (a pipeline: model_index.json beside unet/ and
// scheduler/); what is not cached is fetched by package hub.

// HubCache is huggingface_hub's cache folder: $HF_HUB_CACHE, else the older
// $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func HubCache() string {
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(v); d != "" {
			return expandHome(d)
		}
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(expandHome(d), "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(expandHome(d), "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "huggingface", "hub")
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

var (
	repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	revName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$`)
	commitID = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ParseRepoID splits "owner/name" or "owner/name@revision" (a branch, tag or
// commit; "main" when absent). ok is false for anything else, a path among
// them.
func ParseRepoID(s string) (repo, rev string, ok bool) {
	repo, rev, hasRev := strings.Cut(s, "@")
	if !hasRev {
		rev = "main"
	}
	owner, name, two := strings.Cut(repo, "/")
	if !two || !repoPart.MatchString(owner) || !repoPart.MatchString(name) ||
		!revName.MatchString(rev) || strings.Contains(repo+"/"+rev, "..") {
		return "", "", false
	}
	return repo, rev, true
}

// ErrNotCached is wrapped when a Hub model is not in the local cache.
var ErrNotCached = errors.New("not in the Hugging Face cache")

// ResolveCached finds revision rev of repo in the cache folder and returns
// its snapshot folder and the commit it resolved to.
func ResolveCached(cache, repo, rev string) (dir, commit string, err error) {
	root := filepath.Join(cache, hub.RepoFolder(repo))
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("%s is %w (%s) and HF_HUB_OFFLINE keeps the Hub away: unset it to download, or pass a folder", repo, ErrNotCached, cache)
	}
	commit = rev
	if !commitID.MatchString(rev) {
		b, err := os.ReadFile(filepath.Join(root, "refs", filepath.FromSlash(rev)))
		if err != nil {
			return "", "", fmt.Errorf("revision %s of %s is %w (no refs/%s in %s)", rev, repo, ErrNotCached, rev, root)
		}
		commit = strings.TrimSpace(string(b))
		if !commitID.MatchString(commit) {
			return "", "", fmt.Errorf("%s: refs/%s holds %.60q, not a commit id", root, rev, commit)
		}
	}
	snap := filepath.Join(root, "snapshots", commit)
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("commit %s of %s is %w (no snapshot in %s)", commit, repo, ErrNotCached, root)
	}
	// The loader takes either layout (flat, or a pipeline's unet/ and
	// scheduler/), so the snapshot itself is the folder.
	for _, f := range []string{"config.json", filepath.Join("unet", "config.json")} {
		if _, err := os.Stat(filepath.Join(snap, f)); err == nil {
			return snap, commit, nil
		}
	}
	return "", "", fmt.Errorf("the cached snapshot %s of %s holds neither config.json nor unet/config.json (a model cached without its UNet?)", commit, repo)
}

// ResolveHub finds revision rev of repo in the Hugging Face cache or, unless
// HF_HUB_OFFLINE keeps the Hub away, fetches it there (hub.Client.Snapshot
// with the variant asked for, reporting to progress when set): how both the
// window and the command line turn a Hub id into a snapshot folder.
func ResolveHub(ctx context.Context, repo, rev, variant string, progress func(hub.Progress)) (dir, commit string, err error) {
	dir, commit, err = ResolveCached(HubCache(), repo, rev)
	if errors.Is(err, ErrNotCached) && !hub.Offline() {
		c := hub.FromEnv(HubCache())
		c.Progress = progress
		return c.Snapshot(ctx, repo, rev, variant)
	}
	return dir, commit, err
}
