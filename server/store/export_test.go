package store

import (
	"context"

	"ariga.io/atlas/sql/migrate"
)

// ApplyDir applies the files of dir as Migrate applies the embedded ones.
func (d *DB) ApplyDir(ctx context.Context, dir migrate.Dir) error { return d.applyDir(ctx, dir) }

// InstallRevisionTriggers is what every release's Migrate ran last.
func (d *DB) InstallRevisionTriggers(ctx context.Context) error {
	return d.installRevisionTriggers(ctx)
}
