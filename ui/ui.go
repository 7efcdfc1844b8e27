// Package ui holds the App Metrics page: plain HTML, CSS and JavaScript
// embedded in the binary and served by handlers under /ui/. The page is a
// client of the public API only; docs/ui.md describes it.
//
// The stylesheet, the script and the icon are served under names that
// carry a hash of their content (app.3f9c1a2b7d.js), so a browser may keep
// them for a year; the page itself names them and is revalidated on every
// load through its ETag.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every asset: scripts, styles, images
// and requests from this origin only, no inline script or style, no
// frames, no forms posting anywhere, no plugins.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Asset is one file of the page, ready to serve.
type Asset struct {
	// Name is the file's name under /ui/; the page's own is "".
	Name        string
	ContentType string
	Body        []byte
	// Gzip is Body gzip-compressed, or nil when that would not be smaller.
	Gzip []byte
	// ETag is a strong validator, quoted, from the content's hash.
	ETag string
	// CacheControl: the page is revalidated each time, hashed files kept.
	CacheControl string
}

// Cache-Control values.
const (
	cacheRevalidate = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// files are the assets the page names, in static/, with their types.
var files = []struct{ name, contentType string }{
	{"app.css", "text/css; charset=utf-8"},
	{"app.js", "text/javascript; charset=utf-8"},
	{"icon.svg", "image/svg+xml"},
}

type bundle struct {
	page   *Asset
	byName map[string]*Asset
}

var built = sync.OnceValue(func() bundle {
	b, err := build()
	if err != nil {
		panic(err) // the embedded files are part of the binary: a failure is a build bug, caught by the tests
	}
	return b
})

func build() (bundle, error) {
	b := bundle{byName: map[string]*Asset{}}
	html, err := static.ReadFile("static/index.html")
	if err != nil {
		return b, fmt.Errorf("cannot read the page: %w", err)
	}
	for _, f := range files {
		body, err := static.ReadFile(path.Join("static", f.name))
		if err != nil {
			return b, fmt.Errorf("cannot read %s: %w", f.name, err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(f.name)
		hashed := strings.TrimSuffix(f.name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ref := `"` + f.name + `"`
		if !bytes.Contains(html, []byte(ref)) {
			return b, fmt.Errorf("the page does not name %s", f.name)
		}
		html = bytes.ReplaceAll(html, []byte(ref), []byte(`"`+hashed+`"`))
		b.byName[hashed] = newAsset(hashed, f.contentType, body, cacheImmutable)
	}
	b.page = newAsset("", "text/html; charset=utf-8", html, cacheRevalidate)
	return b, nil
}

func newAsset(name, contentType string, body []byte, cacheControl string) *Asset {
	sum := sha256.Sum256(body)
	a := &Asset{Name: name, ContentType: contentType, Body: body, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`, CacheControl: cacheControl}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = w.Write(body)
	_ = w.Close()
	if z.Len() < len(body) {
		a.Gzip = z.Bytes()
	}
	return a
}

// Page is the page itself, served at /ui/.
func Page() *Asset { return built().page }

// Lookup returns the asset served as /ui/name, or nil: only the hashed
// names the current page uses exist.
func Lookup(name string) *Asset { return built().byName[name] }

// Names lists the hashed asset names in order.
func Names() []string { return slices.Sorted(maps.Keys(built().byName)) }
