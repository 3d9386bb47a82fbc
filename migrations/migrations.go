// Package migrations embeds the numbered goose SQL migrations of Switchyard's
// schema so the binary carries them and runs them at start.
package migrations

import "embed"

// FS holds every migration file; goose applies them in numeric order.
//
//go:embed *.sql
var FS embed.FS
