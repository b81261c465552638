package app

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/server/auth"
)

// The demo organization's accounts (API.md). The password is fixed and
// public: demo data is never seeded in production.
const (
	DemoMasterEmail = "master@demo.cloudbill.local"
	DemoMemberEmail = "member@demo.cloudbill.local"
	DemoPassword    = "Demo!pass2026"
)

// SeedDemo creates the demo organization and catalog once; later calls find
// it and do nothing.
func SeedDemo(ctx context.Context, client *ent.Client, currency string, now time.Time) error {
	exists, err := client.Account.Query().Where(account.Email(DemoMasterEmail)).Exist(ctx)
	if err != nil || exists {
		return err
	}
	hash, err := auth.HashPassword(DemoPassword)
	if err != nil {
		return err
	}
	for _, r := range [][2]string{{"kr-central", "Korea Central (Pangyo)"}, {"kr-south", "Korea South (Busan)"}} {
		ok, err := client.Region.Query().Where(region.Code(r[0])).Exist(ctx)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := billing.CreateRegion(ctx, client, r[0], r[1]); err != nil {
				return err
			}
		}
	}
	services := []billing.ServiceSpec{
		{Code: "server", Name: "Server", Category: "Compute", Kind: "STANDARD", Prices: []billing.PriceSpec{
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "85"},
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "80", Region: "kr-south"},
		}},
		{Code: "block-storage", Name: "Block Storage", Category: "Storage", Kind: "STANDARD", Prices: []billing.PriceSpec{
			{Metric: "gb-month", Model: "PER_UNIT", UnitPrice: "40"},
		}},
		{Code: "api-gateway", Name: "API Gateway", Category: "Application", Kind: "STANDARD", Prices: []billing.PriceSpec{
			{Metric: "api-call", Model: "PER_UNIT", UnitPrice: "0.5"},
		}},
		{Code: "load-balancer", Name: "Load Balancer", Category: "Networking", Kind: "STANDARD", Prices: []billing.PriceSpec{
			{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "18000"},
		}},
		{Code: "wordpress-market", Name: "WordPress (Marketplace)", Category: "Marketplace", Kind: "MARKETPLACE", Prices: []billing.PriceSpec{
			{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "30000"},
		}},
		{Code: "windows-server-image", Name: "Windows Server image", Category: "OS image", Kind: "OS_IMAGE", Prices: []billing.PriceSpec{
			{Metric: "server-hour", Model: "PER_UNIT", UnitPrice: "25"},
		}},
		{Code: "chat-channel", Name: "Chat channel", Category: "SaaS", Kind: "CHANNEL", Prices: []billing.PriceSpec{
			{Metric: "base", Model: "FLAT_MONTHLY", UnitPrice: "50000"},
			{Metric: "disk-gb", Model: "PER_UNIT", UnitPrice: "100"},
			{Metric: "api-call", Model: "PER_UNIT", UnitPrice: "0.2"},
		}},
	}
	for _, s := range services {
		if _, err := billing.CreateService(ctx, client, currency, s); err != nil {
			if be, ok := billing.AsError(err); ok && be.Code == billing.CodeConflict {
				continue
			}
			return err
		}
	}
	master, err := billing.CreateAccount(ctx, client, billing.SignUp{
		Email: DemoMasterEmail, PasswordHash: hash, MemberType: "BUSINESS",
		ResidenceCountry: "KR", OrganizationName: "Demo Corp", At: now,
	})
	if err != nil {
		return err
	}
	member, err := billing.CreateAccount(ctx, client, billing.SignUp{
		Email: DemoMemberEmail, PasswordHash: hash, MemberType: "BUSINESS", ResidenceCountry: "KR", At: now,
	})
	if err != nil {
		return err
	}
	if member, err = billing.InviteMember(ctx, client, master.OrgID, member.Email); err != nil {
		return err
	}
	main, err := client.BillingGroup.Query().Where(billinggroup.OrgID(master.OrgID), billinggroup.IsMain(true)).Only(ctx)
	if err != nil {
		return err
	}
	research, err := billing.CreateBillingGroup(ctx, client, master.OrgID, "Research", now)
	if err != nil {
		return err
	}
	if err := billing.SetGrant(ctx, client, research, member.ID, auth.RoleMember); err != nil {
		return err
	}
	for _, c := range []struct {
		bg                 *ent.BillingGroup
		svc, region, start string
	}{
		{main, "server", "kr-central", "2026-01-01"},
		{main, "load-balancer", "kr-central", "2026-01-01"},
		{main, "chat-channel", "kr-central", "2026-01-01"},
		{research, "server", "kr-south", "2026-06-15"},
		{research, "wordpress-market", "kr-south", "2026-06-15"},
	} {
		start, _ := billing.ParseDay("startsOn", c.start)
		if _, err := billing.CreateContract(ctx, client, c.bg, c.svc, c.region, start, nil); err != nil {
			return err
		}
	}
	return nil
}
