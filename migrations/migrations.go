// Package migrations embeds the versioned SQL files that are the only source of Nimbo's
// database schema, one directory per database driver (sqlite, postgres).
package migrations

import "embed"

// FS holds sqlite/NNNN_name.sql and postgres/NNNN_name.sql, applied in lexical order.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
