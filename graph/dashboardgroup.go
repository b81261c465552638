package graph

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
)

// dashboardGroup reads the billing group of q. For a query (a request
// carrying its organization's revision) the group's row brings what a
// dashboard would otherwise ask of the database apart, one statement each
// (issue 17): whether it has contracts and discounts, the rows of its
// credit summary, the amounts of its trend's invoices and — for this
// request only, usage not being part of the revision — its usage window.
// A mutation reads the bare row: its later reads must see its writes.
func (r *Resolver) dashboardGroup(ctx context.Context, q *ent.BillingGroupQuery) (*ent.BillingGroup, error) {
	if _, _, _, query := readmodel.OrgRevisionOf(ctx); !query {
		return q.Only(ctx)
	}
	now := r.Clock.Now().In(r.Policy.Location())
	window := r.engine().Rated().WindowAt(now)
	q = rated.WithTermsFlags(q)
	q = credits.WithSummaryRows(q)
	q = rated.WithTrendInvoices(q, calendar.Month{Year: now.Year(), Month: now.Month()})
	q = window.Select(q)
	bg, err := q.Only(ctx)
	if err == nil {
		window.Prime(ctx, bg)
	}
	return bg, err
}
