// Package dataset generates a billing data set at scale — organizations,
// billing groups, a month of priced usage and credits to allocate — for the
// month-close benchmark and the load script.
package dataset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/server/auth"
)

// Options size the data set.
type Options struct {
	Groups       int            // billing groups
	GroupsPerOrg int            // billing groups per organization
	Month        calendar.Month // the month of usage
	Services     int            // per-unit services, each priced in 2 regions: 2×Services lines per group
	Credits      int            // free credits per group
}

// Org is one generated organization.
type Org struct {
	ID, MasterID, MasterEmail string
	Groups                    []string
}

// DashboardQuery is what a billing console loads on every visit (the
// performance issue's dashboard): the load script drives it and a test
// counts its SQL statements.
const DashboardQuery = `query Dashboard($bg: ID!, $n: Int!) {
  viewer { account { email coins { balance { amount currency } bonus { amount } } } }
  billingGroup(id: $bg) {
    name
    creditSummary { free { amount } paid { amount } total { amount } }
    credits(first: $n) { edges { node { id name type status remainingAmount { amount }
      history(first: 1) { edges { node { kind amount { amount } occurredAt } } } } } }
    currentUsage { usedAmount { amount } lines { region serviceCode serviceName usedAmount { amount } estimatedAmount { amount } } }
    billingTrend(months: 6) { months { month usageAmount { amount } billedAmount { amount } paidAmount { amount } } }
    payments(first: 5) { edges { node { receiptId status amount { amount } method paidAt } } }
  }
}`

// Password of every generated account.
const Password = "Load!test2026"

var regions = []string{"ld-a", "ld-b"}

// Seed writes the data set in bulk.
func Seed(ctx context.Context, client *ent.Client, o Options) ([]Org, error) {
	if o.GroupsPerOrg == 0 {
		o.GroupsPerOrg = 10
	}
	if o.Services == 0 {
		o.Services = 10
	}
	codes, err := seedCatalog(ctx, client, o.Services)
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(Password)
	if err != nil {
		return nil, err
	}
	created := o.Month.Start(time.UTC).AddDate(0, -1, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	var orgs []Org
	nOrgs := (o.Groups + o.GroupsPerOrg - 1) / o.GroupsPerOrg
	const chunk = 500
	for start := 0; start < nOrgs; start += chunk {
		end := min(start+chunk, nOrgs)
		var orgC []*ent.OrganizationCreate
		var acctC []*ent.AccountCreate
		var bgC []*ent.BillingGroupCreate
		var batch []Org
		for i := start; i < end; i++ {
			org := Org{ID: xid.New("org"), MasterID: xid.New("acct"), MasterEmail: fmt.Sprintf("load-%06d@example.com", i)}
			orgC = append(orgC, client.Organization.Create().SetID(org.ID).SetName(fmt.Sprintf("Load org %d", i)).SetCreatedAt(created))
			acctC = append(acctC, client.Account.Create().SetID(org.MasterID).SetOrgID(org.ID).SetEmail(org.MasterEmail).
				SetBillingEmail(org.MasterEmail).SetPasswordHash(hash).SetMemberType("BUSINESS").SetResidenceCountry("KR").
				SetIsMaster(true).SetCreatedAt(created))
			for g := 0; g < o.GroupsPerOrg && i*o.GroupsPerOrg+g < o.Groups; g++ {
				id := xid.New("bg")
				org.Groups = append(org.Groups, id)
				bgC = append(bgC, client.BillingGroup.Create().SetID(id).SetOrgID(org.ID).SetName(fmt.Sprintf("Group %d", g)).
					SetIsMain(g == 0).SetCreatedAt(created))
			}
			batch = append(batch, org)
		}
		if err := client.Organization.CreateBulk(orgC...).Exec(ctx); err != nil {
			return nil, err
		}
		if err := client.Account.CreateBulk(acctC...).Exec(ctx); err != nil {
			return nil, err
		}
		for s := 0; s < len(bgC); s += 1000 {
			if err := client.BillingGroup.CreateBulk(bgC[s:min(s+1000, len(bgC))]...).Exec(ctx); err != nil {
				return nil, err
			}
		}
		if err := seedMonth(ctx, client, o, batch, codes, rng, created); err != nil {
			return nil, err
		}
		orgs = append(orgs, batch...)
	}
	return orgs, nil
}

// seedCatalog creates the load's regions and n services, one price each,
// and answers the services' codes.
func seedCatalog(ctx context.Context, client *ent.Client, n int) ([]string, error) {
	cat := catalog.Service{Client: client, Policy: calendar.NCPPolicy()}
	for _, r := range regions {
		if _, err := cat.CreateRegion(ctx, r, "Load "+r); err != nil {
			return nil, err
		}
	}
	var codes []string
	for i := 0; i < n; i++ {
		code := fmt.Sprintf("ld-svc-%02d", i)
		codes = append(codes, code)
		if _, err := cat.CreateService(ctx, catalog.ServiceSpec{Code: code, Name: "Load service " + code,
			Kind: "STANDARD", Prices: []catalog.PriceSpec{{Metric: "unit", Model: "PER_UNIT", UnitPrice: fmt.Sprintf("%d.5", 10+i)}}}); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// seedMonth gives each group of batch a month of usage — every service in
// both regions, on a few days — and o.Credits free credits.
func seedMonth(ctx context.Context, client *ent.Client, o Options, batch []Org, codes []string, rng *rand.Rand, created time.Time) error {
	loc := calendar.NCPPolicy().Location()
	var usage []*ent.UsageDailyCreate
	var credits []*ent.CreditCreate
	var entries []*ent.CreditEntryCreate
	flush := func() error {
		for s := 0; s < len(usage); s += 1000 {
			if err := client.UsageDaily.CreateBulk(usage[s:min(s+1000, len(usage))]...).Exec(ctx); err != nil {
				return err
			}
		}
		for s := 0; s < len(credits); s += 1000 {
			if err := client.Credit.CreateBulk(credits[s:min(s+1000, len(credits))]...).Exec(ctx); err != nil {
				return err
			}
		}
		for s := 0; s < len(entries); s += 1000 {
			if err := client.CreditEntry.CreateBulk(entries[s:min(s+1000, len(entries))]...).Exec(ctx); err != nil {
				return err
			}
		}
		usage, credits, entries = usage[:0], credits[:0], entries[:0]
		return nil
	}
	for _, org := range batch {
		for _, bg := range org.Groups {
			for si, code := range codes {
				for _, r := range regions {
					day := fmt.Sprintf("%s-%02d", o.Month, 1+(si*3)%o.Month.Days())
					usage = append(usage, client.UsageDaily.Create().SetID(xid.New("ud")).SetOrgID(org.ID).SetBillingGroupID(bg).
						SetDay(day).SetServiceCode(code).SetRegionCode(r).SetMetric("unit").
						SetQuantityMicros(int64(1+rng.IntN(500))*1_000_000))
				}
			}
			for c := 0; c < o.Credits; c++ {
				id := xid.New("cred")
				amount := int64(20000 + rng.IntN(30000))
				cc := client.Credit.Create().SetID(id).SetOrgID(org.ID).SetBillingGroupID(bg).SetName(fmt.Sprint("Load credit ", c)).
					SetType("FREE").SetStatus("AVAILABLE").SetStartsAt(o.Month.Start(loc)).SetEndsAt(o.Month.Start(loc).AddDate(0, 3, 0)).
					SetCurrency("KRW").SetAccumulated(amount).SetRemaining(amount).SetCreatedAt(created)
				if c%2 == 1 {
					cc.SetServiceCodes([]string{codes[c%len(codes)]})
				}
				credits = append(credits, cc)
				entries = append(entries, client.CreditEntry.Create().SetOrgID(org.ID).SetCreditID(id).
					SetKind(creditentry.KindACCUMULATION).SetAmount(amount).SetOccurredAt(created).SetCurrency("KRW"))
			}
		}
		if len(usage) > 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return nil
}

// MonthToDate adds usage of month m's first days (1..days) to every group
// of orgs — what a dashboard shows as the month so far — every service in
// both regions, as Seed made them.
func MonthToDate(ctx context.Context, client *ent.Client, orgs []Org, m calendar.Month, days, services int) error {
	if services == 0 {
		services = 10
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var usage []*ent.UsageDailyCreate
	flush := func() error {
		for s := 0; s < len(usage); s += 1000 {
			if err := client.UsageDaily.CreateBulk(usage[s:min(s+1000, len(usage))]...).Exec(ctx); err != nil {
				return err
			}
		}
		usage = usage[:0]
		return nil
	}
	for _, org := range orgs {
		for _, bg := range org.Groups {
			for si := 0; si < services; si++ {
				for _, r := range regions {
					usage = append(usage, client.UsageDaily.Create().SetID(xid.New("ud")).SetOrgID(org.ID).SetBillingGroupID(bg).
						SetDay(fmt.Sprintf("%s-%02d", m, 1+si%days)).SetServiceCode(fmt.Sprintf("ld-svc-%02d", si)).SetRegionCode(r).
						SetMetric("unit").SetQuantityMicros(int64(1+rng.IntN(100))*1_000_000))
				}
			}
		}
		if len(usage) >= 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
