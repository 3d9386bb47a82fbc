// Package static embeds the stylesheets, scripts and images served under
// /static/ by the hosted checkout and the dashboard.
package static

import "embed"

// FS holds every static asset.
//
//go:embed css js
var FS embed.FS
