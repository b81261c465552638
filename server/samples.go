package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/server/app"
)

// docsSamples seeds the demo organization into a throwaway embedded
// database at a fixed instant and writes its documents of last month — in
// Korean and English — into a directory, with a PNG of each PDF's first
// page when pdftoppm (poppler-utils) is installed: what docs/images shows.
//
//	go run ./server docs-samples --lang KO --png-only --out docs/images
func docsSamples(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("docs-samples", flag.ContinueOnError)
	out := fs.String("out", "docs/images", "the directory to write into")
	atText := fs.String("at", "2026-11-20T10:00:00+09:00", "the instant the demo is seeded at (its documents are of the month before)")
	dpi := fs.Int("dpi", 60, "the PNGs' resolution")
	langs := fs.String("lang", "KO,EN", "the languages to render")
	pngOnly := fs.Bool("png-only", false, "keep only the PNGs (what docs/images holds)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339, *atText)
	if err != nil {
		return fmt.Errorf("--at: %w", err)
	}
	tmp, err := os.MkdirTemp("", "cloudbill-samples-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c := *cfg
	c.DatabaseURL, c.DataDir, c.Clock, c.Demo = "", tmp, calendar.NewFixedClock(at), true
	a, err := app.New(ctx, &c, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := app.SeedDemo(ctx, a.Engine(), at); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	_, noPNG := exec.LookPath("pdftoppm")
	for _, l := range strings.Split(*langs, ",") {
		paths, err := app.SampleDocuments(ctx, a, *out, locale.Parse(l, locale.KO))
		if err != nil {
			return err
		}
		for _, p := range paths {
			fmt.Println(p)
			if !strings.HasSuffix(p, ".pdf") || noPNG != nil {
				continue
			}
			png := strings.TrimSuffix(p, ".pdf")
			if err := exec.CommandContext(ctx, "pdftoppm", "-png", "-r", fmt.Sprint(*dpi), "-f", "1", "-l", "1", "-singlefile", p, png).Run(); err != nil {
				return fmt.Errorf("pdftoppm %s: %w", p, err)
			}
			fmt.Println(png + ".png")
		}
		if *pngOnly && noPNG == nil {
			for _, p := range paths {
				os.Remove(p)
			}
		}
	}
	if noPNG != nil {
		return errors.New("pdftoppm is not installed (apt-get install poppler-utils): wrote the documents without their PNGs")
	}
	return nil
}
