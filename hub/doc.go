// Package hub fetches diffusers models from the Hugging Face Hub into
// huggingface_hub's own cache layout, speaking the Hub's HTTP protocol as
// huggingface_hub does: the revision API for the commit and file list, a
// HEAD on .../resolve/<commit>/<file> for the blob's etag (X-Linked-Etag,
// the LFS sha256, or ETag, the git blob id) and size (X-Linked-Size or
// Content-Length), then a GET that follows the redirect to the CDN,
// resumed with Range from blobs/<etag>.incomplete. LFS blobs are checked
// against their sha256 before they are moved into place (atomically);
// snapshots/<commit>/<file> are relative symlinks to the blobs and
// refs/<revision> names the commit, so diffusers finds what we fetched
// offline and we find what it fetched. A lock per blob keeps two
// processes from writing the same one. HF_TOKEN is sent as a bearer token
// and never printed.
package hub
