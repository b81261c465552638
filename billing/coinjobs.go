package billing

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// The calendar's coin step: coins pay unpaid invoices before a
// method is charged for them.

// coinHolderBatch bounds the organizations whose invoices one query reads.
const coinHolderBatch = 500

// payWithCoins lets the coins of each organization's master pay its unpaid
// invoices. Coins bought after an invoice was issued so pay it
// before the automatic run charges a method, before it becomes
// outstanding or is charged a late fee, and lower what a direct-deposit
// customer is asked to deposit. Each billing group is paid in its own
// transaction, its invoices locked, and one that fails does not stop the
// others.
func (r *jobRun) payWithCoins(ctx context.Context) error {
	e := r.e
	holders, err := e.Client.CoinCharge.Query().Where(coincharge.Or(coincharge.ChargedRemainingGT(0), coincharge.BonusRemainingGT(0))).
		Select(coincharge.FieldAccountID).Strings(ctx)
	if err != nil || len(holders) == 0 {
		return err
	}
	masters, err := e.Client.Account.Query().Where(account.IDIn(kernel.Uniq(holders)...), account.IsMaster(true)).All(ctx)
	if err != nil {
		return err
	}
	for len(masters) > 0 {
		batch := masters[:min(coinHolderBatch, len(masters))]
		masters = masters[len(batch):]
		byOrg := map[string]*ent.Account{}
		orgs := make([]string, 0, len(batch))
		for _, m := range batch {
			byOrg[m.OrgID] = m
			orgs = append(orgs, m.OrgID)
		}
		var groups []struct {
			OrgID          string `json:"org_id"`
			BillingGroupID string `json:"billing_group_id"`
		}
		err := e.Client.Invoice.Query().Where(invoice.OrgIDIn(orgs...), invoice.StatusIn(invoice.StatusISSUED, invoice.StatusOUTSTANDING)).
			Unique(true).Order(ent.Asc(invoice.FieldBillingGroupID)).Select(invoice.FieldOrgID, invoice.FieldBillingGroupID).Scan(ctx, &groups)
		if err != nil {
			return err
		}
		for _, g := range groups {
			fail := JobFailure{Step: StepCoins, OrgID: g.OrgID, BillingGroupID: g.BillingGroupID, SubjectID: g.BillingGroupID}
			if err := r.isolate(ctx, fail, func() error { return r.payGroupWithCoins(ctx, g.BillingGroupID, byOrg[g.OrgID]) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// payGroupWithCoins spends master's coins on a group's unpaid invoices.
func (r *jobRun) payGroupWithCoins(ctx context.Context, bgID string, master *ent.Account) error {
	var paid int64
	err := kernel.WithTx(ctx, r.e.Client, func(tx *ent.Tx) error {
		invs, dues, err := r.e.Payments().DueInvoices(ctx, tx, bgID, "")
		if err != nil || len(invs) == 0 {
			return err
		}
		_, _, paid, err = r.e.Coins().PayFirst(ctx, tx, master, invs, dues, r.at)
		return err
	})
	if err == nil && paid > 0 {
		r.res.CoinsPaid++
	}
	return err
}
