package app

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/accounts"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/gateway"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/payments"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/server/auth"
)

// The demo organization's accounts (README, "Two commands"). The password is fixed and
// public: demo data is never seeded in production.
const (
	DemoMasterEmail = "master@demo.cloudbill.local"
	DemoMemberEmail = "member@demo.cloudbill.local"
	DemoPassword    = "Demo!pass2026"
)

// SeedDemo creates the demo organization and catalog once; later calls find
// it and do nothing.
func SeedDemo(ctx context.Context, e *billing.Engine, now time.Time) error {
	client := e.Client
	exists, err := client.Account.Query().Where(account.Email(DemoMasterEmail)).Exist(ctx)
	if err != nil || exists {
		return err
	}
	hash, err := auth.HashPassword(DemoPassword)
	if err != nil {
		return err
	}
	if err := seedCatalog(ctx, e); err != nil {
		return err
	}
	// The organization exists since four months, so it has a history.
	loc := e.Policy.Location()
	cur := calendar.MonthOf(now, loc)
	start := cur.Prev().Prev().Prev()
	since := start.Start(loc).AddDate(0, 0, -7)
	master, err := accounts.CreateAccount(ctx, client, accounts.SignUp{
		Email: DemoMasterEmail, PasswordHash: hash, MemberType: "BUSINESS",
		ResidenceCountry: "KR", OrganizationName: DemoOrganization, At: since,
	})
	if err != nil {
		return err
	}
	// Whom its documents are addressed to: a registration number that is
	// checksum-valid but cannot exist (tax office 000).
	if master, err = accounts.UpdateProfile(ctx, client, master, accounts.ProfileUpdate{
		BusinessRegistrationNumber: ptr("0000000000"), RepresentativeName: ptr("김데모"),
		Address: ptr("경기도 성남시 분당구 판교역로 000, 데모타워 5층"),
	}); err != nil {
		return err
	}
	member, err := accounts.CreateAccount(ctx, client, accounts.SignUp{
		Email: DemoMemberEmail, PasswordHash: hash, MemberType: "BUSINESS", ResidenceCountry: "KR", At: since,
	})
	if err != nil {
		return err
	}
	// The member was invited and accepted, as a person would through the API.
	inv, _, err := accounts.Invite(ctx, client, master, "", member.Email, since, nil)
	if err != nil {
		return err
	}
	if member, err = accounts.AcceptInvitation(ctx, client, e.Postgres, inv.ID, member.ID, since); err != nil {
		return err
	}
	main, err := client.BillingGroup.Query().Where(billinggroup.OrgID(master.OrgID), billinggroup.IsMain(true)).Only(ctx)
	if err != nil {
		return err
	}
	research, err := accounts.CreateBillingGroup(ctx, client, master.OrgID, "Research", since)
	if err != nil {
		return err
	}
	if err := accounts.SetGrant(ctx, client, research, member.ID, auth.RoleMember); err != nil {
		return err
	}
	day := func(m calendar.Month, d int) time.Time { return time.Date(m.Year, m.Month, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		bg          *ent.BillingGroup
		svc, region string
		from        time.Time
	}{
		{main, "server", "kr-central", day(start, 1)},
		{main, "load-balancer", "kr-central", day(start, 1)},
		{main, "chat-channel", "kr-central", day(start, 1)},
		{research, "server", "kr-south", day(start.Next(), 15)},
		{research, "wordpress-market", "kr-south", day(start.Next(), 15)},
	} {
		if _, err := e.CreateContract(ctx, c.bg, c.svc, c.region, c.from, nil); err != nil {
			return err
		}
	}
	return seedHistory(ctx, e, master, main, research, start, cur, now)
}

// seedCatalog creates the demo's regions and services with their prices,
// leaving those that exist already.
func seedCatalog(ctx context.Context, e *billing.Engine) error {
	client := e.Client
	cat := catalog.Service{Client: client, Policy: e.Policy, Cache: e.Catalog}
	for _, r := range [][2]string{{"kr-central", "Korea Central (Pangyo)"}, {"kr-south", "Korea South (Busan)"}} {
		ok, err := client.Region.Query().Where(region.Code(r[0])).Exist(ctx)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := cat.CreateRegion(ctx, r[0], r[1]); err != nil {
				return err
			}
		}
	}
	services := []catalog.ServiceSpec{
		{Code: "server", Name: "Server", Category: "Compute", Kind: "STANDARD", Prices: []catalog.PriceSpec{
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "85"},
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "80", Region: "kr-south"},
		}},
		{Code: "block-storage", Name: "Block Storage", Category: "Storage", Kind: "STANDARD", Prices: []catalog.PriceSpec{
			{Metric: "gb-month", Model: "PER_UNIT", UnitPrice: "40"},
		}},
		{Code: "api-gateway", Name: "API Gateway", Category: "Application", Kind: "STANDARD", Prices: []catalog.PriceSpec{
			{Metric: "api-call", Model: "PER_UNIT", UnitPrice: "0.5"},
		}},
		{Code: "load-balancer", Name: "Load Balancer", Category: "Networking", Kind: "STANDARD", Prices: []catalog.PriceSpec{
			{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "18000"},
		}},
		{Code: "wordpress-market", Name: "WordPress (Marketplace)", Category: "Marketplace", Kind: "MARKETPLACE", Prices: []catalog.PriceSpec{
			{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "30000"},
		}},
		{Code: "windows-server-image", Name: "Windows Server image", Category: "OS image", Kind: "OS_IMAGE", Prices: []catalog.PriceSpec{
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "25"},
		}},
		{Code: "chat-channel", Name: "Chat channel", Category: "SaaS", Kind: "CHANNEL", Prices: []catalog.PriceSpec{
			{Metric: "base", Model: "FLAT_MONTHLY", UnitPrice: "50000"},
			{Metric: "disk-gb", Model: "PER_UNIT", UnitPrice: "100"},
			{Metric: "api-call", Model: "PER_UNIT", UnitPrice: "0.2"},
		}},
	}
	for _, s := range services {
		if _, err := cat.CreateService(ctx, s); err != nil {
			if be, ok := kernel.AsError(err); ok && be.Code == kernel.CodeConflict {
				continue
			}
			return err
		}
	}
	return nil
}

// DemoOrganization is the demo organization's name: a Korean company, whose
// documents are in Korean.
const DemoOrganization = "클라우드 주식회사"

func ptr(s string) *string { return &s }

// DemoCoupon is a code anyone may redeem in the demo (a 10,000 KRW credit).
const DemoCoupon = "DEMO-2026"

// seedHistory gives the demo three months of usage, invoices paid by card
// with a promotion credit allocated, a paid credit, a discount and a
// free credit for this month and a coupon to redeem — all through the engine's own rules, each
// at its own instant of the calendar (the engine's clock is set to it), so
// that the history reads as it would have happened: credits accumulate
// before they are used, a month's usage is recorded within it, invoices
// are issued on the issue day and paid on the first payment day.
func seedHistory(ctx context.Context, e *billing.Engine, master *ent.Account, main, research *ent.BillingGroup, start, cur calendar.Month, now time.Time) error {
	loc := e.Policy.Location()
	at := func(m calendar.Month, d, h int) time.Time { return time.Date(m.Year, m.Month, d, h, 0, 0, 0, loc) }
	// on is the engine with its clock at t (never later than now).
	on := func(t time.Time) *billing.Engine {
		c := *e
		c.Clock = calendar.NewFixedClock(minTime(t, now))
		return &c
	}
	begin := at(start, 1, 9)
	if _, err := on(begin).Credits().GrantCredit(ctx, main, credits.CreditSpec{Name: "Launch promotion", Type: "FREE", Amount: 30000,
		StartsAt: start.Start(loc), EndsAt: cur.Next().Next().Start(loc), Source: "PROMOTION"}); err != nil {
		return err
	}
	card, err := on(begin).Payments().RegisterMethod(ctx, gateway.SandboxGateway{}, master, payments.MethodRequest{Type: "CARD", CardToken: "tok_visa",
		ConsentPaymentInfo: true, ConsentRecurr: true})
	if err != nil {
		return err
	}
	// A paid credit is bought with the master's card: a payment with its receipt.
	if _, _, err := on(begin).SellPaidCredit(ctx, kernel.Request{}, research, "Prepaid credit", 50000, card.ID); err != nil {
		return err
	}
	n := 0
	for m := start; !cur.Before(m); m = m.Next() {
		// The month's usage, recorded as it ends (the month so far, now).
		if events := demoUsage(m, main, research, start, at, now, &n); len(events) > 0 {
			if _, err := on(m.End(loc).Add(-time.Minute)).Ingestion().RecordUsage(ctx, "", events); err != nil {
				return err
			}
		}
		if m == cur || now.Before(e.Policy.IssuedAt(m)) {
			break
		}
		// Issued on the issue day, paid automatically on the first payment day.
		for _, bg := range []*ent.BillingGroup{main, research} {
			if _, err := on(e.Policy.IssuedAt(m)).IssueInvoice(ctx, bg, m); err != nil {
				return err
			}
		}
		if pay := at(m.Next(), e.Policy.RegularPaymentFirstDay, 9); pay.Before(now) {
			if _, _, err := on(pay).AutoPay(ctx, pay); err != nil {
				return err
			}
		}
		// The business's tax invoice, on its day.
		if day := e.Policy.TaxInvoiceDate(m); day.Before(now) {
			if _, err := on(day).IssueTaxInvoices(ctx, day); err != nil {
				return err
			}
		}
	}
	// A free credit of this month with its whole amount left, for the
	// README's transferCredit example.
	if _, err := on(at(cur, 1, 9)).Credits().GrantCredit(ctx, main, credits.CreditSpec{Name: "Year-end promotion", Type: "FREE", Amount: 20000,
		StartsAt: cur.Start(loc), EndsAt: cur.Next().Next().Start(loc), Source: "PROMOTION"}); err != nil {
		return err
	}
	if _, err := e.Coupons().CreateDiscount(ctx, main, cur, "Loyalty discount", "5", []string{"server"}, "customers for over 3 months"); err != nil {
		return err
	}
	_, err = e.Coupons().CreateCoupon(ctx, coupons.CouponSpec{Code: DemoCoupon, Name: "Demo coupon", Amount: 10000,
		ValidFrom: start.Start(loc), ValidUntil: now.AddDate(1, 0, 0), MaxRedemptions: 1000, CreditValidDays: 90, Currency: e.Policy.Currency})
	return err
}

// demoUsage is month m's demo usage before now: server hours, API calls and
// a support channel, every few days (n numbers the events).
func demoUsage(m calendar.Month, main, research *ent.BillingGroup, start calendar.Month, at func(calendar.Month, int, int) time.Time, now time.Time, n *int) []usage.UsageInput {
	var events []usage.UsageInput
	for d := 1; d <= m.Days(); d += 3 {
		t := at(m, d, 10)
		if !t.Before(now) {
			break
		}
		add := func(bg *ent.BillingGroup, svc, region, channel, metric, qty string) {
			*n++
			events = append(events, usage.UsageInput{EventID: fmt.Sprintf("demo-%d", *n), BillingGroupID: bg.ID,
				ServiceCode: svc, Region: region, Channel: channel, Metric: metric, Quantity: qty, OccurredAt: t})
		}
		add(main, "server", "kr-central", "", "server-hour", fmt.Sprintf("%d.5", 40+d))
		add(main, "api-gateway", "kr-central", "", "api-call", fmt.Sprint(1200*d))
		add(main, "chat-channel", "kr-central", "support", "api-call", fmt.Sprint(300*d))
		add(main, "chat-channel", "kr-central", "support", "disk-gb", "2.5")
		if !m.Before(start.Next()) {
			add(research, "server", "kr-south", "", "server-hour", fmt.Sprint(20+d))
		}
	}
	return events
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
