package store

import (
	"context"

	"ariga.io/atlas/sql/migrate"
)

// ApplyDir applies the files of dir as Migrate applies the embedded ones.
func (d *DB) ApplyDir(ctx context.Context, dir migrate.Dir) error { return d.applyDir(ctx, dir) }

// InstallRevisionTriggers is what every release's Migrate ran last, on the
// tables of the list that exist (an old release's schema has fewer).
func (d *DB) InstallRevisionTriggers(ctx context.Context, exists func(table string) bool) error {
	var tables []string
	for _, t := range revisionTables {
		if exists(t) {
			tables = append(tables, t)
		}
	}
	return d.installRevisionTriggersOn(ctx, tables)
}
