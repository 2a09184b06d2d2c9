package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// MaxFileBytes bounds one downloaded file (the largest pixel-space DDPMs
// are a few hundred megabytes).
const MaxFileBytes = 8 << 30

// ErrOffline is returned when HF_HUB_OFFLINE forbids the network.
var ErrOffline = errors.New("HF_HUB_OFFLINE is set: the Hub is not contacted")

// Progress is one report of a download.
type Progress struct {
	File        string
	Done, Total int64 // bytes of this file
}

// Client downloads into a cache folder.
type Client struct {
	Endpoint string // HF_ENDPOINT, else DefaultEndpoint
	Token    string // HF_TOKEN: sent as a bearer token, never printed
	Cache    string // huggingface_hub's cache folder
	HTTP     *http.Client
	// Progress, when set, receives byte counts as files arrive.
	Progress func(Progress)
}

// FromEnv is a client configured as huggingface_hub configures itself.
func FromEnv(cache string) *Client {
	ep := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
	if ep == "" {
		ep = DefaultEndpoint
	}
	return &Client{Endpoint: ep, Token: os.Getenv("HF_TOKEN"), Cache: cache, HTTP: http.DefaultClient}
}

// Offline reports whether HF_HUB_OFFLINE asks for the cache only.
func Offline() bool {
	switch strings.ToLower(os.Getenv("HF_HUB_OFFLINE")) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

var (
	hexID   = regexp.MustCompile(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)
	sha256H = regexp.MustCompile(`^[0-9a-f]{64}$`)
	relFile = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$`)
)

// RepoFolder is the cache folder of a model repo: models--owner--name.
func RepoFolder(repo string) string { return "models--" + strings.ReplaceAll(repo, "/", "--") }

// revisionInfo is what the revision API answers.
type revisionInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// Snapshot fetches what a diffusers UNet2DModel needs from revision rev of
// repo — the config, the scheduler config, one weights file (safetensors
// first, else PyTorch's .bin; the variant's when one is asked for), flat
// or in a pipeline's unet/ and scheduler/ — and returns the snapshot
// folder and the commit.
func (c *Client) Snapshot(ctx context.Context, repo, rev, variant string) (dir, commit string, err error) {
	if Offline() {
		return "", "", ErrOffline
	}
	var info revisionInfo
	api := fmt.Sprintf("%s/api/models/%s/revision/%s", c.Endpoint, repo, url.PathEscape(rev))
	if err := c.getJSON(ctx, api, repo, rev, &info); err != nil {
		return "", "", err
	}
	if !hexID.MatchString(info.SHA) {
		return "", "", fmt.Errorf("the Hub answered commit %.60q for %s@%s, not a commit id", info.SHA, repo, rev)
	}
	files, err := choose(info, variant)
	if err != nil {
		return "", "", fmt.Errorf("%s@%s: %w", repo, rev, err)
	}
	for _, f := range files {
		if err := c.fetch(ctx, repo, info.SHA, f); err != nil {
			return "", "", err
		}
	}
	root := filepath.Join(c.Cache, RepoFolder(repo))
	if rev != info.SHA {
		ref := filepath.Join(root, "refs", filepath.FromSlash(rev))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			return "", "", err
		}
		if err := atomicfile.Write(ref, func(w io.Writer) error { _, err := io.WriteString(w, info.SHA); return err }); err != nil {
			return "", "", err
		}
	}
	return filepath.Join(root, "snapshots", info.SHA), info.SHA, nil
}

// choose picks the files a UNet2DModel needs from a repo's file list.
func choose(info revisionInfo, variant string) ([]string, error) {
	has := map[string]bool{}
	for _, s := range info.Siblings {
		has[s.RFilename] = true
	}
	sub := ""
	if !has["config.json"] && has["unet/config.json"] {
		sub = "unet/"
	}
	if !has[sub+"config.json"] {
		return nil, errors.New("no config.json (nor unet/config.json): not a diffusers UNet2DModel repository")
	}
	files := []string{sub + "config.json"}
	if sub != "" && has["model_index.json"] {
		files = append(files, "model_index.json")
	}
	for _, s := range []string{sub + "scheduler_config.json", "scheduler/scheduler_config.json", "scheduler_config.json"} {
		if has[s] {
			files = append(files, s)
			break
		}
	}
	var names []string
	if variant != "" {
		names = append(names, "diffusion_pytorch_model."+variant+".safetensors", "diffusion_pytorch_model."+variant+".bin")
	}
	names = append(names, "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
	for _, n := range names {
		if has[sub+n] {
			return append(files, sub+n), nil
		}
	}
	return nil, fmt.Errorf("no weights among %s", strings.Join(names, ", "))
}

// hubError turns a refusal into one line, saying what to do.
func hubError(res *http.Response, what string) error {
	code := res.Header.Get("X-Error-Code")
	switch {
	case code == "GatedRepo" || res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: the Hub refused access (HTTP %d: a gated or private repository): accept its terms on the Hub and set HF_TOKEN", what, res.StatusCode)
	case code == "RepoNotFound":
		return fmt.Errorf("%s: repository not found on the Hub (or private: set HF_TOKEN)", what)
	case code == "RevisionNotFound":
		return fmt.Errorf("%s: revision not found", what)
	case code == "EntryNotFound" || res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: not found on the Hub", what)
	}
	return fmt.Errorf("%s: HTTP %d from the Hub", what, res.StatusCode)
}

func (c *Client) request(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ddpmstudio; hf_hub-compatible")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func (c *Client) getJSON(ctx context.Context, u, repo, rev string, v any) error {
	req, err := c.request(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s@%s: cannot reach the Hub: %w", repo, rev, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return hubError(res, repo+"@"+rev)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s@%s: the Hub's answer: %w", repo, rev, err)
	}
	return nil
}

// meta is what the HEAD of a resolve URL says about a file.
type meta struct {
	etag string
	size int64
}

func (c *Client) head(ctx context.Context, u, what string) (meta, error) {
	req, err := c.request(ctx, http.MethodHead, u)
	if err != nil {
		return meta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	// The metadata is the Hub's own answer, not the CDN's: no redirects.
	hc := *c.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(req)
	if err != nil {
		return meta{}, fmt.Errorf("%s: cannot reach the Hub: %w", what, err)
	}
	res.Body.Close()
	if res.StatusCode >= 400 {
		return meta{}, hubError(res, what)
	}
	etag := res.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = res.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if !hexID.MatchString(etag) {
		return meta{}, fmt.Errorf("%s: the Hub sent no usable ETag (%.70q)", what, etag)
	}
	sz := res.Header.Get("X-Linked-Size")
	if sz == "" {
		sz = res.Header.Get("Content-Length")
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 || size > MaxFileBytes {
		return meta{}, fmt.Errorf("%s: size %.30q is not a size up to %d bytes", what, sz, int64(MaxFileBytes))
	}
	return meta{etag: etag, size: size}, nil
}

// fetch puts file (of commit) in the cache: blob, then snapshot link.
func (c *Client) fetch(ctx context.Context, repo, commit, file string) error {
	if !relFile.MatchString(file) || slices.Contains(strings.Split(file, "/"), "..") {
		return fmt.Errorf("%s: refusing the file name %q", repo, file)
	}
	what := repo + "@" + commit[:12] + ": " + file
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, commit, file)
	m, err := c.head(ctx, u, what)
	if err != nil {
		return err
	}
	root := filepath.Join(c.Cache, RepoFolder(repo))
	blob := filepath.Join(root, "blobs", m.etag)
	if st, err := os.Stat(blob); err != nil || st.Size() != m.size {
		if err := c.download(ctx, u, what, file, root, m); err != nil {
			return err
		}
	}
	link := filepath.Join(root, "snapshots", commit, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	depth := strings.Count(file, "/") + 2 // snapshots/<commit>/[sub/]file
	target := strings.Repeat("../", depth) + "blobs/" + m.etag
	os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		// Where links are not allowed, huggingface_hub copies the blob.
		b, rerr := os.ReadFile(blob)
		if rerr != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return atomicfile.Write(link, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	return nil
}

// download writes the blob, resuming from its .incomplete file, under the
// blob's lock, and checks an LFS blob's sha256 before moving it in place.
func (c *Client) download(ctx context.Context, u, what, file, root string, m meta) error {
	blobs := filepath.Join(root, "blobs")
	locks := filepath.Join(c.Cache, ".locks", filepath.Base(root))
	for _, d := range []string{blobs, locks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	unlock, err := lockFile(ctx, filepath.Join(locks, m.etag+".lock"))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer unlock()
	blob := filepath.Join(blobs, m.etag)
	if st, err := os.Stat(blob); err == nil && st.Size() == m.size {
		return nil // another process fetched it while we waited
	}
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > m.size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have < m.size {
		req, err := c.request(ctx, http.MethodGet, u)
		if err != nil {
			return err
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		res, err := c.HTTP.Do(req) // follows the redirect to the CDN (the token stays on the Hub's host)
		if err != nil {
			return fmt.Errorf("%s: %w (what arrived is kept; run again to resume)", what, err)
		}
		defer res.Body.Close()
		switch {
		case res.StatusCode == http.StatusPartialContent && have > 0:
		case res.StatusCode == http.StatusOK:
			if have > 0 { // the server ignored the range: start over
				if err := f.Truncate(0); err != nil {
					return err
				}
				have, _ = f.Seek(0, io.SeekStart)
			}
		default:
			return hubError(res, what)
		}
		pw := &progressWriter{w: f, done: have, total: m.size, file: file, report: c.Progress}
		n, err := io.Copy(pw, io.LimitReader(res.Body, m.size-have+1))
		if err != nil {
			return fmt.Errorf("%s: %w (%d of %d bytes kept; run again to resume)", what, err, have+n, m.size)
		}
		if have+n > m.size {
			f.Truncate(m.size)
			return fmt.Errorf("%s: the server sent more than the announced %d bytes; stopped there", what, m.size)
		}
		if have+n < m.size {
			return fmt.Errorf("%s: the connection ended at %d of %d bytes (kept; run again to resume)", what, have+n, m.size)
		}
	}
	if sha256H.MatchString(m.etag) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != m.etag {
			f.Close()
			os.Remove(part)
			return fmt.Errorf("%s: checksum mismatch (sha256 %s…, the Hub says %s…): the download was deleted", what, got[:12], m.etag[:12])
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	return os.Rename(part, blob)
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	file        string
	report      func(Progress)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil {
		p.report(Progress{File: p.file, Done: p.done, Total: p.total})
	}
	return n, err
}
