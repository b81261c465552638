package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
	"github.com/cloudbill/cloudbill/server/auth"
)

// A server started with CLOUDBILL_CLOCK runs on a clock of its own, and a
// token minted on another clock (`server token` without the same variable)
// was refused — as expired, or as issued in the future — without a word
// why. So the server leaves its clock in the data directory, and `server
// token` mints on it (ShareClock, AdoptServerClock); a server on a set
// clock that refuses a token for its times says which clock it reads
// (auth.Tokens.ClockNote).

// clockFile holds the serving process's clock: what it read, and the system
// clock's reading at that moment.
const clockFile = "server-clock.json"

type sharedClock struct {
	ServerClock time.Time `json:"serverClock"`
	SystemClock time.Time `json:"systemClock"`
}

// ShareClock records the server's clock in the data directory when it was
// set (CLOUDBILL_CLOCK), and removes an earlier record otherwise.
func ShareClock(cfg *Config) error {
	path := filepath.Join(cfg.DataDir, clockFile)
	if !cfg.ClockSet {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(sharedClock{ServerClock: cfg.Clock.Now(), SystemClock: time.Now()})
	return os.WriteFile(path, b, 0o600)
}

// AdoptServerClock makes cfg's clock the one the server sharing the data
// directory runs on, unless cfg sets its own (CLOUDBILL_CLOCK). It reports
// the clock adopted, or "" when there was none to adopt.
func AdoptServerClock(cfg *Config) (string, error) {
	if cfg.ClockSet {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, clockFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var sc sharedClock
	if err := json.Unmarshal(b, &sc); err != nil {
		return "", fmt.Errorf("%s: %w", clockFile, err)
	}
	cfg.Clock = calendar.StartingAt(time.Now().Add(sc.ServerClock.Sub(sc.SystemClock)))
	return cfg.Clock.Now().Format(time.RFC3339), nil
}

// MintToken mints an access token for the account of email, or for an
// operator when email is empty, on the server's clock (AdoptServerClock).
// note says which clock that was, for the person who asked.
func MintToken(ctx context.Context, cfg *Config, a *App, email string, ttl time.Duration) (token, note string, err error) {
	adopted, err := AdoptServerClock(cfg)
	if err != nil {
		return "", "", err
	}
	a.Tokens.Now = cfg.Clock.Now
	switch {
	case adopted != "":
		note = fmt.Sprintf("minted on the server's clock (CLOUDBILL_CLOCK, recorded in %s): it reads %s", cfg.DataDir, adopted)
	case cfg.ClockSet:
		note = "minted on CLOUDBILL_CLOCK: it reads " + cfg.Clock.Now().Format(time.RFC3339)
	}
	if email == "" {
		token, _, err = a.Tokens.Mint(auth.TypeAccess, "operator@cloudbill.local", "", "", []string{auth.RoleOperator}, ttl)
		return token, note, err
	}
	acct, err := a.DB.Client.Account.Query().Where(account.Email(strings.ToLower(strings.TrimSpace(email)))).Only(ctx)
	if err != nil {
		return "", "", fmt.Errorf("no account with email %q", email)
	}
	token, _, err = a.Tokens.Mint(auth.TypeAccess, acct.ID, acct.OrgID, "", nil, ttl)
	return token, note, err
}

// StartupBanner is what the server prints once it listens: where to reach
// it, how to use the playground without internet, the clock it runs on, and
// for the demo its accounts, a token and the ids the README's examples use.
func StartupBanner(ctx context.Context, a *App, addr string) string {
	cfg := a.Config
	db := "embedded SQLite at " + cfg.DataDir + "/cloudbill.db"
	if !cfg.Embedded() {
		db = "PostgreSQL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ncloudbill is serving on %s\n", db)
	fmt.Fprintf(&b, "  GraphQL:    http://%s/graphql\n", addr)
	if cfg.Playground {
		fmt.Fprintf(&b, "  Playground: http://%s/\n", addr)
		if cfg.AssetsDir == "" {
			fmt.Fprintf(&b, "  The playground loads GraphiQL from unpkg.com; without internet it stays on \"Loading…\":\n"+
				"  fetch its files once with server/fetch-playground-assets.sh DIR and start with CLOUDBILL_PLAYGROUND_ASSETS=DIR\n"+
				"  (or POST to /graphql with curl).\n")
		}
	}
	if cfg.ClockSet {
		fmt.Fprintf(&b, "  Clock:      CLOUDBILL_CLOCK, now %s; `server token` with this CLOUDBILL_DATA_DIR mints on it\n",
			cfg.Clock.Now().Format(time.RFC3339))
	}
	if cfg.Demo {
		writeDemo(ctx, &b, a)
	}
	fmt.Fprintf(&b, "\nMore tokens: go run ./server token --email %s   |   go run ./server token --operator\n", DemoMasterEmail)
	fmt.Fprintf(&b, "or call the login mutation with an email and password.\n")
	return b.String()
}

// writeDemo prints the demo's accounts and a token for its master.
func writeDemo(ctx context.Context, b *strings.Builder, a *App) {
	master, err := a.DB.Client.Account.Query().Where(account.Email(DemoMasterEmail)).Only(ctx)
	if err != nil {
		return
	}
	tok, _, err := a.Tokens.Mint(auth.TypeAccess, master.ID, master.OrgID, "", nil, 12*time.Hour)
	if err != nil {
		return
	}
	fmt.Fprintf(b, "\nDemo organization: %s / %s (password %q); coupon code %s\n", DemoMasterEmail, DemoMemberEmail, DemoPassword, DemoCoupon)
	fmt.Fprintf(b, "A token for the demo master (valid 12h) — in the playground's Headers tab put\n")
	fmt.Fprintf(b, "  {\"Authorization\": \"Bearer %s\"}\n", tok)
	if vars := demoVariables(ctx, a, master); len(vars) > 0 {
		raw, _ := json.Marshal(vars)
		fmt.Fprintf(b, "Variables for the README's examples (the playground's Variables tab, or curl's \"variables\"):\n  %s\n", raw)
	}
}

// demoVariables are what the README's examples take as variables, so they
// run as written on any day: the demo's billing groups (bg: Main,
// research: Research), the master's card (pm), a free credit left to
// transfer (credit) when there is one, and the calendar by the server's
// clock in KST — now (for usage), this month, and the day its invoice is
// issued (closeAt: the 3rd of next month).
func demoVariables(ctx context.Context, a *App, master *ent.Account) map[string]string {
	client := a.DB.Client
	now := a.Config.Clock.Now().In(a.Config.Policy.Location())
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	vars := map[string]string{"now": now.Format(time.RFC3339), "month": first.Format("2006-01"),
		"closeAt": first.AddDate(0, 1, 2).Format(time.RFC3339)}
	groups, err := client.BillingGroup.Query().Where(billinggroup.OrgID(master.OrgID)).
		Order(ent.Asc(billinggroup.FieldCreatedAt), ent.Asc(billinggroup.FieldID)).All(ctx)
	if err != nil {
		return nil
	}
	for _, g := range groups {
		switch {
		case g.IsMain:
			vars["bg"] = g.ID
		case vars["research"] == "":
			vars["research"] = g.ID
		}
	}
	if pm, err := client.PaymentMethod.Query().Where(paymentmethod.AccountID(master.ID),
		paymentmethod.TypeEQ(paymentmethod.TypeCARD), paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).
		Order(ent.Asc(paymentmethod.FieldID)).First(ctx); err == nil {
		vars["pm"] = pm.ID
	}
	if c, err := client.Credit.Query().Where(credit.OrgID(master.OrgID), credit.TypeEQ(credit.TypeFREE),
		credit.StatusEQ(credit.StatusAVAILABLE), credit.RemainingGT(0)).
		Order(ent.Asc(credit.FieldID)).First(ctx); err == nil {
		vars["credit"] = c.ID
	}
	return vars
}
