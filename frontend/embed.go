// Package frontend embeds the built web portal (the Vite build in dist/) into nimbo-panel.
// dist/.gitkeep is committed so the package compiles without a build; run `make build` (or
// `npm ci && npm run build` here) to embed the real portal.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built portal, rooted at dist/ (index.html, assets/…). Without a build it
// holds only .gitkeep.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path; "dist" is valid.
		panic(err)
	}
	return sub
}
