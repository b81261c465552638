package creditnotes

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/coinusage"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/creditnote"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/invoiceline"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
	"github.com/cloudbill/cloudbill/ent/schema"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/ent/taxinvoice"
	"github.com/shopspring/decimal"
)

// Credit notes (R-73, docs/rules.md): an operator corrects an issued
// invoice downwards by a supply value, which carries its VAT (R-39: a note
// of 1,000 carries 100, total 1,100). The notes of an invoice never credit
// more supply than it charged (used − discounts), line by line when they
// name lines. Their money goes back where the invoice's came from, last in
// first out:
//
//   - the supply the invoice's free credits paid (no VAT was charged on it)
//     is credited last and given back to those credits (RESTORE entries
//     naming the note; refused once they are closed);
//   - the taxed supply and its VAT first take off what is still unpaid
//     (amountDue), then are refunded to the payments that paid the invoice,
//     newest first, through the gateway (an INVOICE_REFUND payment each),
//     then given back to the coins that paid it (a coin use of minus
//     amounts).
//
// A refund the gateway refuses is not lost: the amount becomes a PAID
// credit of the billing group, valid 5 years (billing/payments,
// grantRefundAsCredit). The note's
// VAT is its taxed supply × the VAT rate rounded down, except that the note
// crediting the last of the taxed supply takes the last of the invoice's
// VAT, so notes crediting a whole invoice give back exactly its tax.

// CreditNoteSpec is what an operator asks to credit.
type CreditNoteSpec struct {
	InvoiceID string
	// Amount is the supply value in minor units; 0 when Lines say it.
	Amount int64
	Lines  []schema.CreditNoteLine
	Reason string
}

// CreditNoteNumber is the number a credit note prints: its invoice's month
// and its id, as tax invoices are numbered.
func CreditNoteNumber(cn *ent.CreditNote) string {
	id := cn.ID
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return fmt.Sprintf("CN-%s%s-%s", cn.Month[:4], cn.Month[5:], id)
}

// IssueCreditNoteOnce issues a credit note once per req and sends
// the refunds it reserved to the gateway after commit.
func (svc *Service) IssueCreditNoteOnce(ctx context.Context, req kernel.Request, spec CreditNoteSpec) (*ent.CreditNote, error) {
	if err := cmp.Or(kernel.CheckIdempotencyKey(req.Key), CheckReason(spec.Reason)); err != nil {
		return nil, err
	}
	inv, err := svc.Client.Invoice.Get(ctx, spec.InvoiceID)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("invoice")
	}
	if err != nil {
		return nil, err
	}
	type reserved struct {
		NoteID   string   `json:"noteId"`
		Payments []string `json:"payments"`
	}
	res, fresh, err := kernel.Once(ctx, svc.Client, req, inv.OrgID, "issueCreditNote", func(tx *ent.Tx) (reserved, error) {
		cn, refunds, err := svc.issueCreditNote(ctx, tx, spec)
		return reserved{NoteID: cn, Payments: refunds}, err
	})
	if err != nil {
		return nil, err
	}
	for _, id := range res.Payments {
		if _, err := svc.Payments.ChargeIfFresh(ctx, fresh, id); err != nil {
			// Recorded PENDING: reconciliation asks the gateway again.
			svc.log().WarnContext(ctx, "refund of a credit note", "payment", id, "err", err)
		}
	}
	return svc.Client.CreditNote.Get(ctx, res.NoteID)
}

// creditNoteParts is how a note's amount splits (the CreditNote row's
// fields, which a check constraint keeps adding up).
type creditNoteParts struct {
	amount, taxed, tax, credit, due, refund, coins int64
}

// issueCreditNote writes a credit note of spec in tx and answers its id
// and the refunds it reserved.
func (svc *Service) issueCreditNote(ctx context.Context, tx *ent.Tx, spec CreditNoteSpec) (string, []string, error) {
	q := tx.Invoice.Query().Where(invoice.ID(spec.InvoiceID))
	if svc.Postgres {
		q = q.ForUpdate() // payments, coins and other notes lock it too
	}
	inv, err := q.Only(ctx)
	if err != nil {
		return "", nil, err
	}
	if inv.Status == invoice.StatusVOID {
		return "", nil, kernel.Errorf(kernel.CodeConflict, "the invoice is void: it owes nothing to credit")
	}
	prior, err := tx.CreditNote.Query().Where(creditnote.InvoiceID(inv.ID)).All(ctx)
	if err != nil {
		return "", nil, err
	}
	amount, err := svc.creditNoteAmount(ctx, tx, inv, prior, spec)
	if err != nil {
		return "", nil, err
	}
	parts := splitCreditNote(inv, prior, amount, svc.Policy.VATRate)
	now := svc.Clock.Now()
	id := xid.New("cn")
	// The money part: what is unpaid first, then payments, then coins.
	left := parts.taxed + parts.tax - parts.due
	refunds, refunded, err := svc.reserveInvoiceRefunds(ctx, tx, inv, prior, id, left, now)
	if err != nil {
		return "", nil, err
	}
	parts.refund = refunded
	left -= refunded
	if parts.coins, err = giveBackCoins(ctx, tx, svc.Postgres, inv, id, left, now); err != nil {
		return "", nil, err
	}
	if left -= parts.coins; left != 0 {
		return "", nil, fmt.Errorf("credit note of invoice %s: %d has nowhere to go back to", inv.ID, left)
	}
	if err := restoreCreditsFor(ctx, tx, svc.Postgres, inv, id, parts.credit, now); err != nil {
		return "", nil, err
	}
	c := tx.CreditNote.Create().SetID(id).SetOrgID(inv.OrgID).SetCreatedAt(now).SetInvoiceID(inv.ID).
		SetBillingGroupID(inv.BillingGroupID).SetMonth(inv.Month).SetCurrency(inv.Currency).SetAmount(parts.amount).
		SetTaxedAmount(parts.taxed).SetTaxAmount(parts.tax).SetCreditAmount(parts.credit).SetDueAmount(parts.due).
		SetRefundAmount(parts.refund).SetCoinAmount(parts.coins).SetReason(spec.Reason).SetIssuedAt(now)
	if len(spec.Lines) > 0 {
		c.SetLines(spec.Lines)
	}
	ti, err := tx.TaxInvoice.Query().Where(taxinvoice.InvoiceID(inv.ID)).Only(ctx)
	if err == nil {
		c.SetTaxInvoiceID(ti.ID) // an amended tax invoice of minus amounts
	} else if !ent.IsNotFound(err) {
		return "", nil, err
	}
	if err := c.Exec(ctx); err != nil {
		return "", nil, err
	}
	if err := svc.notifyCreditNote(ctx, tx, inv, id, parts, spec.Reason, ti != nil); err != nil {
		return "", nil, err
	}
	upd := tx.Invoice.UpdateOne(inv).AddCreditNoteAmount(parts.taxed + parts.tax).AddCreditedAmount(parts.due)
	inv.CreditedAmount += parts.due
	if kernel.AmountDue(inv) == 0 && inv.Status != invoice.StatusPAID {
		upd.SetStatus(invoice.StatusPAID).SetPaidAt(now) // the note settled what was left
	}
	return id, refunds, upd.Exec(ctx)
}

// notifyCreditNote tells the organization's master of a credit note
// in the note's transaction: what it credited and where the
// money went back, and whether it amends a tax invoice.
func (svc *Service) notifyCreditNote(ctx context.Context, tx *ent.Tx, inv *ent.Invoice, id string, p creditNoteParts, reason string, amends bool) error {
	bg, err := tx.BillingGroup.Get(ctx, inv.BillingGroupID)
	if err != nil {
		return err
	}
	f := func(v int64) string { return kernel.FormatMinor(v, inv.Currency) }
	return topics.Notify(ctx, tx, inv.OrgID, topics.CreditNoteIssued, map[string]any{
		"creditNoteId": id, "number": CreditNoteNumber(&ent.CreditNote{ID: id, Month: inv.Month}), "invoiceId": inv.ID,
		"billingGroupId": bg.ID, "billingGroupName": bg.Name, "month": inv.Month, "currency": inv.Currency,
		"amount": f(p.amount), "taxAmount": f(p.tax), "totalAmount": f(p.amount + p.tax), "dueAmount": f(p.due),
		"refundAmount": f(p.refund), "coinAmount": f(p.coins), "creditAmount": f(p.credit), "reason": reason, "amendsTaxInvoice": amends,
	})
}

// creditNoteAmount checks spec against what inv charged and its prior
// notes, and answers the supply value to credit.
func (svc *Service) creditNoteAmount(ctx context.Context, tx *ent.Tx, inv *ent.Invoice, prior []*ent.CreditNote, spec CreditNoteSpec) (int64, error) {
	var credited int64
	for _, n := range prior {
		credited += n.Amount
	}
	chargeable := inv.UsageAmount - inv.DiscountAmount - credited
	amount := spec.Amount
	if amount > chargeable {
		return 0, kernel.FieldError("amount", "the invoice's credit notes would credit more than it charged: at most %s %s is left to credit",
			kernel.FormatMinor(max(chargeable, 0), inv.Currency), inv.Currency)
	}
	if len(spec.Lines) > 0 {
		sum, err := svc.checkCreditNoteLines(ctx, tx, inv, prior, spec.Lines)
		if err != nil {
			return 0, err
		}
		if amount != 0 && amount != sum {
			return 0, kernel.FieldError("amount", "amount %s is not the sum of the lines, %s", kernel.FormatMinor(amount, inv.Currency), kernel.FormatMinor(sum, inv.Currency))
		}
		amount = sum
	}
	switch {
	case amount <= 0:
		return 0, kernel.FieldError("amount", "a credit note credits an amount greater than zero")
	case amount > chargeable:
		return 0, kernel.FieldError("amount", "the invoice's credit notes would credit more than it charged: at most %s %s is left to credit",
			kernel.FormatMinor(max(chargeable, 0), inv.Currency), inv.Currency)
	}
	return amount, nil
}

// checkCreditNoteLines checks each line names a line of inv once and
// credits at most what that line charged less prior notes' lines, and
// answers their sum.
func (svc *Service) checkCreditNoteLines(ctx context.Context, tx *ent.Tx, inv *ent.Invoice, prior []*ent.CreditNote, lines []schema.CreditNoteLine) (int64, error) {
	if len(lines) > 200 {
		return 0, kernel.FieldError("lines", "at most 200 lines")
	}
	ils, err := tx.InvoiceLine.Query().Where(invoiceline.InvoiceID(inv.ID)).All(ctx)
	if err != nil {
		return 0, err
	}
	key := func(region, service string) string { return region + "\x00" + service }
	left := map[string]int64{}
	for _, l := range ils {
		left[key(l.RegionCode, l.ServiceCode)] += l.UsedAmount - l.DiscountAmount
	}
	for _, n := range prior {
		for _, l := range n.Lines {
			left[key(l.Region, l.ServiceCode)] -= l.Amount
		}
	}
	seen := map[string]bool{}
	var sum int64
	for i, l := range lines {
		k := key(l.Region, l.ServiceCode)
		f := fmt.Sprintf("lines.%d.amount", i)
		rest, ok := left[k]
		switch {
		case len(l.Region) > 100:
			return 0, kernel.FieldError(fmt.Sprintf("lines.%d.region", i), "a region code is at most 100 characters")
		case len(l.ServiceCode) > 100:
			return 0, kernel.FieldError(fmt.Sprintf("lines.%d.serviceCode", i), "a service code is at most 100 characters")
		case l.Amount <= 0:
			return 0, kernel.FieldError(f, "a line credits an amount greater than zero")
		case l.Amount > inv.UsageAmount-inv.DiscountAmount:
			return 0, kernel.FieldError(f, "a line credits at most what the invoice charged, %s %s", kernel.FormatMinor(inv.UsageAmount-inv.DiscountAmount, inv.Currency), inv.Currency)
		case !ok:
			return 0, kernel.FieldError(fmt.Sprintf("lines.%d", i), "the invoice has no line of service %q in region %q", l.ServiceCode, l.Region)
		case seen[k]:
			return 0, kernel.FieldError(fmt.Sprintf("lines.%d", i), "the line of service %q in region %q is named twice", l.ServiceCode, l.Region)
		case l.Amount > rest:
			return 0, kernel.FieldError(f, "the line of %s in %s has at most %s %s left to credit", l.ServiceCode, l.Region,
				kernel.FormatMinor(max(rest, 0), inv.Currency), inv.Currency)
		}
		seen[k] = true
		sum += l.Amount
	}
	return sum, nil
}

// splitCreditNote splits amount into its taxed part (the invoice's
// determined amount not credited yet comes first), the part free credits
// paid, the VAT of the taxed part, and of the money what the unpaid amount
// takes.
func splitCreditNote(inv *ent.Invoice, prior []*ent.CreditNote, amount int64, vat decimal.Decimal) creditNoteParts {
	var taxedPrev, taxPrev int64
	for _, n := range prior {
		taxedPrev += n.TaxedAmount
		taxPrev += n.TaxAmount
	}
	p := creditNoteParts{amount: amount}
	p.taxed = min(amount, inv.DeterminedAmount-taxedPrev)
	p.credit = amount - p.taxed
	p.tax = rating.Tax(p.taxed, vat)
	if taxedPrev+p.taxed == inv.DeterminedAmount {
		p.tax = inv.TaxAmount - taxPrev // the last of the taxed supply takes the last of the tax
	}
	p.tax = max(min(p.tax, inv.TaxAmount-taxPrev), 0)
	unpaid := inv.DeterminedAmount + inv.TaxAmount - inv.CoinAmount - inv.PaidAmount - inv.CreditedAmount
	p.due = max(min(p.taxed+p.tax, unpaid), 0)
	return p
}

// reserveInvoiceRefunds writes PENDING INVOICE_REFUND payments giving back
// up to amount of what the payments of inv paid it, newest first, each at
// most its allocation less what earlier notes refunded of it, and answers
// their ids and sum.
func (svc *Service) reserveInvoiceRefunds(ctx context.Context, tx *ent.Tx, inv *ent.Invoice, prior []*ent.CreditNote, noteID string, amount int64, at time.Time) ([]string, int64, error) {
	if amount <= 0 {
		return nil, 0, nil
	}
	allocs, err := tx.PaymentAllocation.Query().Where(paymentallocation.InvoiceID(inv.ID)).All(ctx)
	if err != nil || len(allocs) == 0 {
		return nil, 0, err
	}
	paid := map[string]int64{}
	ids := make([]string, 0, len(allocs))
	for _, a := range allocs {
		if paid[a.PaymentID] == 0 {
			ids = append(ids, a.PaymentID)
		}
		paid[a.PaymentID] += a.Amount
	}
	pays, err := tx.Payment.Query().Where(payment.IDIn(ids...), payment.StatusEQ(payment.StatusSUCCESSFUL),
		payment.PaymentMethodIDNotNil()).Order(ent.Desc(payment.FieldCreatedAt), ent.Desc(payment.FieldID)).All(ctx)
	if err != nil {
		return nil, 0, err
	}
	noteIDs := make([]string, len(prior))
	for i, n := range prior {
		noteIDs[i] = n.ID
	}
	var out []string
	var sum int64
	for _, p := range pays {
		if amount == 0 {
			break
		}
		var before int64
		if len(noteIDs) > 0 {
			rs, err := tx.Payment.Query().Where(payment.KindEQ(payment.KindINVOICE_REFUND), payment.RefundedPaymentID(p.ID),
				payment.CreditNoteIDIn(noteIDs...)).All(ctx)
			if err != nil {
				return nil, 0, err
			}
			for _, r := range rs {
				before += r.Amount
			}
		}
		take := min(amount, paid[p.ID]-before)
		if take <= 0 {
			continue
		}
		r, err := tx.Payment.Create().SetOrgID(inv.OrgID).SetBillingGroupID(inv.BillingGroupID).SetAccountID(p.AccountID).
			SetPaymentMethodID(p.PaymentMethodID).SetCreatedAt(at).SetReceiptID(kernel.NewReceiptID(at)).
			SetKind(payment.KindINVOICE_REFUND).SetMethodLabel(p.MethodLabel).SetCurrency(inv.Currency).SetAmount(take).
			SetStatus(payment.StatusPENDING).SetBilledAt(at).SetRefundedPaymentID(p.ID).SetCreditNoteID(noteID).
			SetDescription("Credit note of invoice " + inv.ID).Save(ctx)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r.ID)
		sum += take
		amount -= take
	}
	return out, sum, nil
}

// giveBackCoins gives up to amount of the coins that paid inv back to
// their charges, the newest use first, charged coins before bonus coins
// (they were spent bonus first: R-31), as uses of minus amounts naming the
// note, and answers how much went back.
func giveBackCoins(ctx context.Context, tx *ent.Tx, lock bool, inv *ent.Invoice, noteID string, amount int64, at time.Time) (int64, error) {
	if amount <= 0 || inv.CoinAmount == 0 {
		return 0, nil
	}
	uses, err := tx.CoinUsage.Query().Where(coinusage.InvoiceID(inv.ID)).Order(ent.Asc(coinusage.FieldCreatedAt), ent.Asc(coinusage.FieldID)).All(ctx)
	if err != nil {
		return 0, err
	}
	type net struct {
		account        string
		charged, bonus int64
	}
	byCharge := map[string]*net{}
	var order []string
	for _, u := range uses {
		n := byCharge[u.ChargeID]
		if n == nil {
			n = &net{account: u.AccountID}
			byCharge[u.ChargeID] = n
			order = append(order, u.ChargeID)
		}
		n.charged += u.ChargedAmount
		n.bonus += u.BonusAmount
	}
	var sum int64
	for i := len(order) - 1; i >= 0 && amount > 0; i-- {
		id, n := order[i], byCharge[order[i]]
		charged := min(amount, n.charged)
		bonus := min(amount-charged, n.bonus)
		if charged+bonus <= 0 {
			continue
		}
		cq := tx.CoinCharge.Query().Where(coincharge.ID(id))
		if lock {
			cq = cq.ForUpdate()
		}
		c, err := cq.Only(ctx)
		if err != nil {
			return 0, err
		}
		if err := tx.CoinCharge.UpdateOne(c).AddChargedRemaining(charged).AddBonusRemaining(bonus).Exec(ctx); err != nil {
			return 0, err
		}
		if err := tx.CoinUsage.Create().SetOrgID(inv.OrgID).SetCreatedAt(at).SetChargeID(id).SetAccountID(n.account).
			SetInvoiceID(inv.ID).SetCurrency(inv.Currency).SetChargedAmount(-charged).SetBonusAmount(-bonus).
			SetCreditNoteID(noteID).Exec(ctx); err != nil {
			return 0, err
		}
		sum += charged + bonus
		amount -= charged + bonus
	}
	return sum, nil
}

// restoreCreditsFor gives amount of what inv's free credits paid back to
// them, the credit used last first, with RESTORE entries naming the note.
// A closed credit (expired, recovered) cannot take it back: the note is
// refused when the open ones cannot take it all.
func restoreCreditsFor(ctx context.Context, tx *ent.Tx, lock bool, inv *ent.Invoice, noteID string, amount int64, at time.Time) error {
	if amount <= 0 {
		return nil
	}
	entries, err := tx.CreditEntry.Query().Where(creditentry.InvoiceID(inv.ID),
		creditentry.KindIn(creditentry.KindUSE, creditentry.KindRESTORE)).Order(ent.Asc(creditentry.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	used := map[string]int64{}
	var ids []string
	for _, x := range entries {
		if _, ok := used[x.CreditID]; !ok {
			ids = append(ids, x.CreditID)
		}
		used[x.CreditID] -= x.Amount // a use is negative, a restore positive
	}
	cq := tx.Credit.Query().Where(credit.IDIn(ids...)).Order(ent.Desc(credit.FieldID))
	if lock {
		cq = cq.ForUpdate()
	}
	credits, err := cq.All(ctx)
	if err != nil {
		return err
	}
	for _, c := range credits {
		if amount == 0 {
			break
		}
		back := min(amount, used[c.ID])
		if back <= 0 || (c.Status != credit.StatusAVAILABLE && c.Status != credit.StatusUSED_UP) {
			continue
		}
		if err := tx.Credit.UpdateOne(c).AddRemaining(back).AddUsed(-back).SetStatus(credit.StatusAVAILABLE).
			ClearClosedAt().Exec(ctx); err != nil {
			return err
		}
		if err := tx.CreditEntry.Create().SetOrgID(c.OrgID).SetCreditID(c.ID).SetKind(creditentry.KindRESTORE).
			SetCurrency(c.Currency).SetAmount(back).SetInvoiceID(inv.ID).SetCreditNoteID(noteID).SetOccurredAt(at).Exec(ctx); err != nil {
			return err
		}
		amount -= back
	}
	if amount > 0 {
		return kernel.Errorf(kernel.CodeConflict, "%s %s of the note was paid by free credits that have closed since (expired or recovered): credit at most the invoice's taxed supply",
			kernel.FormatMinor(amount, inv.Currency), inv.Currency)
	}
	return nil
}

// CreditNotes are the credit notes of an invoice, oldest first.
func (svc *Service) CreditNotes(ctx context.Context, inv *ent.Invoice) ([]*ent.CreditNote, error) {
	return svc.Client.CreditNote.Query().Where(creditnote.InvoiceID(inv.ID)).
		Order(ent.Asc(creditnote.FieldIssuedAt), ent.Asc(creditnote.FieldID)).All(ctx)
}

// CreditNoteRefunds are the refunds a credit note sent to the gateway.
func (svc *Service) CreditNoteRefunds(ctx context.Context, cn *ent.CreditNote) ([]*ent.Payment, error) {
	return svc.Client.Payment.Query().Where(payment.CreditNoteID(cn.ID)).Order(ent.Asc(payment.FieldID)).All(ctx)
}

// CheckReason bounds a void's reason: a sentence or two for the history.
func CheckReason(reason string) error {
	if n := len([]rune(reason)); n == 0 || n > 500 {
		return kernel.FieldError("reason", "reason must be 1 to 500 characters")
	}
	return nil
}

func (svc *Service) log() *slog.Logger {
	if svc.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return svc.Log
}
