// Command server is the cloudbill binary: with no arguments it serves the
// GraphQL API; `token`, `migrate` and `jobs` are its operator subcommands,
// `docs-samples` renders the demo's documents for looking at them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cloudbill:", err)
		os.Exit(1)
	}
}

// tuneGC trades memory the server has to spare for CPU: a request
// allocates much short-lived garbage (gqlgen builds the response object by
// object), and with the default GOGC=100 over a live heap of some 30 MiB
// the collector ran every few milliseconds under load and took a third of
// the server's CPU. GOGC=400 collects a quarter as often; the soft limit
// (GOMEMLIMIT, default 100 MiB) makes it collect sooner rather than grow
// past it. With the load script (README, Performance) a limit of 120 MiB
// let the process reach 160–163 MB under the mixed load (issue 17 bounds
// it at 150), 110 MiB 153 MB, 100 MiB 146 MB. Either environment
// variable, when set, wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
}

func run(args []string) error {
	tuneGC()
	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	switch os.Getenv("CLOUDBILL_LOG_LEVEL") {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if cfg.Production {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "", "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		a, err := app.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		revs, err := a.DB.Revisions(ctx)
		if err != nil {
			return err
		}
		for _, r := range revs {
			fmt.Printf("%s %s (applied %s)\n", r.Version, r.Description, r.AppliedAt.UTC().Format(time.RFC3339))
		}
		fmt.Println("schema is up to date")
		return nil
	case "token":
		return token(ctx, cfg, log, args)
	case "jobs":
		return jobs(ctx, cfg, log, args)
	case "docs-samples":
		return docsSamples(ctx, cfg, log, args)
	case "help", "-h", "--help":
		fmt.Println("usage: server [serve | migrate | token --email E | token --operator | jobs --at T | docs-samples --out DIR]")
		return nil
	}
	return fmt.Errorf("unknown command %q (serve, migrate, token, jobs, docs-samples)", cmd)
}

func serve(ctx context.Context, cfg *app.Config, log *slog.Logger) error {
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := app.ShareClock(cfg); err != nil {
		return fmt.Errorf("recording the server's clock: %w", err)
	}
	if cfg.Demo {
		if err := app.SeedDemo(ctx, a.Engine(), cfg.Clock.Now()); err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
	}
	if addr := os.Getenv("CLOUDBILL_PPROF_ADDR"); addr != "" && !cfg.Production {
		// Profiling on its own loopback listener, for measuring (never in production).
		go func() { log.Warn("pprof", "err", http.ListenAndServe(addr, nil)) }()
	}
	if !cfg.SupplierConfigured {
		log.Warn("documents name a made-up supplier: set CLOUDBILL_SUPPLIER_NAME, CLOUDBILL_SUPPLIER_REGISTRATION_NUMBER and the other CLOUDBILL_SUPPLIER_* variables")
	}
	stopJobs := a.StartScheduler(ctx)
	defer stopJobs()
	return a.Serve(ctx, func(addr string) {
		fmt.Fprintln(os.Stderr, app.StartupBanner(ctx, a, addr))
		log.Info("ready", "addr", addr)
	})
}

// token prints a JWT signed with the configured key.
func token(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	email := fs.String("email", "", "mint an access token for this account")
	operator := fs.Bool("operator", false, "mint a platform operator token")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*email == "") == !*operator {
		return errors.New("give exactly one of --email E or --operator")
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	tok, note, err := app.MintToken(ctx, cfg, a, *email, *ttl)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, "cloudbill:", note)
	}
	fmt.Println(tok)
	return nil
}
