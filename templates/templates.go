// Package templates embeds the server-rendered HTML of the hosted checkout,
// the sandbox processors' pages and the dashboard. Each surface parses the
// files it uses once at start, so a broken template stops the binary from
// starting rather than failing a shopper.
package templates

import "embed"

// FS holds every template.
//
//go:embed *.html
var FS embed.FS
