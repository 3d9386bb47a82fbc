package checkout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// asset is one static file, read and fingerprinted at start.
type asset struct {
	body        []byte
	hash        string
	contentType string
}

// assets are the files of static.FS by path ("css/checkout.css"). Their
// URLs carry "?v=<hash>" so they can be cached for a year and still change
// with every release that changes them.
type assets struct {
	files map[string]*asset
}

// startTime is the Last-Modified of every asset: embedded files have none.
var startTime = time.Now()

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		}
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		a.files[p] = &asset{body: body, hash: hex.EncodeToString(sum[:])[:16], contentType: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading static assets: %w", err)
	}
	return a, nil
}

// url returns the versioned URL of asset name; an error for an unknown one,
// which fails the template that asked.
func (a *assets) url(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("unknown static asset %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

// handleStatic serves /static/*. A request naming the current version is
// cacheable for a year (immutable); any other is revalidated, so a stale
// page never pins an old script.
func (s *Server) handleStatic(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	f, ok := s.assets.files[name]
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if !ok {
		h.Set("Cache-Control", "no-store")
		return c.String(http.StatusNotFound, "Not found")
	}
	if c.QueryParam("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", `"`+f.hash+`"`)
	http.ServeContent(c.Response(), c.Request(), name, startTime, bytes.NewReader(f.body))
	return nil
}
