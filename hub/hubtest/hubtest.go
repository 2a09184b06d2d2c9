// Package hubtest is a fake Hugging Face Hub on loopback for tests: the
// revision API and resolve endpoints with the real protocol's headers
// (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, a redirect to a CDN
// path that honours Range), and ways to break them.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Commit is the one Commit the fake Hub serves.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Server serves the Hub's API and resolve endpoints as huggingface.co
// does: small files answered directly with the git blob id as ETag, LFS
// files with X-Linked-Etag/X-Linked-Size and a 302 to a CDN path that
// honours Range. Modes break it the ways the network does.
type Server struct {
	Repo    string            // owner/name
	Files   map[string][]byte // path in the repo → bytes
	LFS     map[string]bool
	Gated   bool
	Token   string // required when gated
	Stall   bool   // the CDN sends half, then waits for the client to hang up
	Drop    bool   // the first CDN GET ends half-way
	Corrupt bool   // the CDN serves other bytes
	Extra   bool   // the CDN sends more than announced
	mu      sync.Mutex
	Gets    int
	Ranges  []string
	SeenTok []string // Authorization headers the CDN saw
}

// GitBlobID is git's id of a blob: the ETag the Hub gives small files.
func GitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex sha256 of b: the ETag of an LFS file.
func SHA256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo := f.Repo
	if f.Gated && r.Header.Get("Authorization") != "Bearer "+f.Token && !strings.HasPrefix(r.URL.Path, "/cdn/") {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/models/"):
		rest := strings.TrimPrefix(r.URL.Path, "/api/models/")
		if !strings.HasPrefix(rest, repo+"/revision/") {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if rev := strings.TrimPrefix(rest, repo+"/revision/"); rev != "main" && rev != Commit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var sib []map[string]string
		for name := range f.Files {
			sib = append(sib, map[string]string{"rfilename": name})
		}
		sib = append(sib, map[string]string{"rfilename": "README.md"})
		json.NewEncoder(w).Encode(map[string]any{"id": repo, "sha": Commit, "siblings": sib})
	case strings.HasPrefix(r.URL.Path, "/"+repo+"/resolve/"+Commit+"/"):
		name := strings.TrimPrefix(r.URL.Path, "/"+repo+"/resolve/"+Commit+"/")
		b, ok := f.Files[name]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", Commit)
		if f.LFS[name] {
			w.Header().Set("X-Linked-Etag", `"`+SHA256(b)+`"`)
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(b)))
			w.Header().Set("ETag", `"`+GitBlobID([]byte("pointer"))+`"`)
			http.Redirect(w, r, "/cdn/"+SHA256(b), http.StatusFound)
			return
		}
		w.Header().Set("ETag", `W/"`+GitBlobID(b)+`"`)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		f.mu.Lock()
		f.Gets++
		first := f.Gets == 1
		f.Ranges = append(f.Ranges, r.Header.Get("Range"))
		f.SeenTok = append(f.SeenTok, r.Header.Get("Authorization"))
		f.mu.Unlock()
		var b []byte
		for name, v := range f.Files {
			if f.LFS[name] && SHA256(v) == strings.TrimPrefix(r.URL.Path, "/cdn/") {
				b = v
			}
		}
		switch {
		case f.Corrupt:
			b = append([]byte(nil), b...)
			b[len(b)/2] ^= 1
		case f.Extra:
			w.Write(append(append([]byte(nil), b...), "and more"...))
			return
		case f.Stall:
			// Half the file, then nothing until the client gives up.
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.WriteHeader(http.StatusOK)
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		case f.Drop && first:
			// Announce the whole file, send half, hang up.
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.WriteHeader(http.StatusOK)
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(b))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}
