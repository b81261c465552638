package calendar

import (
	"sort"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
)

// The billing calendar's instants (R-41..R-44), all in the policy's zone.

func (p Policy) Local(t time.Time) time.Time { return t.In(p.Location()) }

// InRegularPeriod reports whether t is on a day of automatic payment.
func (p Policy) InRegularPeriod(t time.Time) bool {
	d := p.Local(t).Day()
	return d >= p.RegularPaymentFirstDay && d <= p.RegularPaymentLastDay
}

// InstantPayOpen reports whether instant payment is open at t: from
// InstantPayOpenHour on the issue day to InstantPayCloseHour on the last day
// of the month, except on the days of the regular payment period.
func (p Policy) InstantPayOpen(t time.Time) bool {
	l := p.Local(t)
	last := Month{l.Year(), l.Month()}.Days()
	if p.InRegularPeriod(t) {
		return false
	}
	afterOpen := l.Day() > p.IssueDay || (l.Day() == p.IssueDay && l.Hour() >= p.InstantPayOpenHour)
	beforeClose := l.Day() < last || l.Hour() < p.InstantPayCloseHour
	return afterOpen && beforeClose
}

// OutstandingFrom is when month m's unpaid invoice, issued on time, turns
// outstanding: after the regular payment period, or for direct deposit at
// 22:00 on the last day of the payment month.
func (p Policy) OutstandingFrom(m Month, directDeposit bool) time.Time {
	return p.OutstandingAfter(m.Next(), directDeposit)
}

// OutstandingAfter is when an invoice whose payment month is pm turns
// outstanding if unpaid.
func (p Policy) OutstandingAfter(pm Month, directDeposit bool) time.Time {
	if directDeposit {
		return time.Date(pm.Year, pm.Month, pm.Days(), p.InstantPayCloseHour, 0, 0, 0, p.Location())
	}
	return time.Date(pm.Year, pm.Month, p.RegularPaymentLastDay+1, 0, 0, 0, 0, p.Location())
}

// RegularStart is 00:00 on month pm's first automatic payment day.
func (p Policy) RegularStart(pm Month) time.Time {
	return time.Date(pm.Year, pm.Month, p.RegularPaymentFirstDay, 0, 0, 0, 0, p.Location())
}

// PaymentMonth is the month whose regular payment days are the first an
// invoice of month m, written at issued, meets: the month after m, or —
// an invoice issued late (its issue had failed until those days had begun)
// — the first month whose payment days were still to come. Its
// outstanding date and late fees count from there: a customer is never
// late with an invoice that did not exist during its payment days.
func (p Policy) PaymentMonth(m Month, issued time.Time) Month {
	pm := m.Next()
	for !issued.Before(p.RegularStart(pm)) {
		pm = pm.Next()
	}
	return pm
}

// MonthsCarried counts how many months an unpaid invoice of month m has been
// carried past its payment month at t: one late fee each.
func (p Policy) MonthsCarried(m Month, t time.Time) int {
	return p.MonthsCarriedFrom(m.Next(), t)
}

// MonthsCarriedFrom counts the months begun after payment month payMonth by
// t: one late fee each.
func (p Policy) MonthsCarriedFrom(payMonth Month, t time.Time) int {
	now := MonthOf(t, p.Location())
	n := (now.Year-payMonth.Year)*12 + int(now.Month) - int(payMonth.Month)
	if n < 0 {
		return 0
	}
	return n
}

// TaxInvoiceDate is the third business day (Monday to Friday) after the end
// of month m, when a business's tax invoice is issued.
func (p Policy) TaxInvoiceDate(m Month) time.Time {
	t := m.End(p.Location())
	for n := 0; n < 3; {
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
			if n == 3 {
				break
			}
		}
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// DueMonth is the month whose invoice is due by instant at: the previous
// month once the policy's issue day has begun, else the one before.
func (p Policy) DueMonth(at time.Time) Month {
	local := at.In(p.Location())
	m := Month{local.Year(), local.Month()}.Prev()
	if local.Day() < p.IssueDay {
		m = m.Prev()
	}
	return m
}

// IssuedAt is the instant month m's invoice is issued: 00:00 on the issue
// day of the next month in the policy's zone.
func (p Policy) IssuedAt(m Month) time.Time {
	n := m.Next()
	return time.Date(n.Year, n.Month, p.IssueDay, 0, 0, 0, 0, p.Location())
}

// InBankHours reports whether t falls outside the policy's night closing of
// bank-account registration (R-35: refused 23:00–09:00 KST).
func (p Policy) InBankHours(t time.Time) bool {
	h := t.In(p.Location()).Hour()
	return !(h >= p.NoBankFromHour || h < p.NoBankUntilHour)
}

// date writes an instant as its calendar day in the policy's zone.
func (p Policy) Date(t time.Time) string { return t.In(p.Location()).Format("2006-01-02") }

// PaymentDays are the first and last automatic payment days of an invoice
// of month m written at issued: what its notice tells as the dates
// the card is charged and the due date.
func (p Policy) PaymentDays(m Month, issued time.Time) (first, last time.Time) {
	pm := p.PaymentMonth(m, issued)
	first = p.RegularStart(pm)
	return first, first.AddDate(0, 0, p.RegularPaymentLastDay-p.RegularPaymentFirstDay)
}

// NextAutoPayDay is the day of the next automatic attempt after a failed
// one at t, if the regular payment period still has one.
func (p Policy) NextAutoPayDay(t time.Time) (time.Time, bool) {
	l := p.Local(t)
	next := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, p.Location())
	return next, p.InRegularPeriod(next)
}

// JobInstants are the instants strictly between after and through at which
// a step of the calendar falls due, in order: 00:00 on the 1st (a month of
// late fees), on the issue day, on each regular payment day and on the day
// after them (outstanding), on the tax invoice day, and the last day of the
// month at the close of instant payment (outstanding by direct deposit).
func (p Policy) JobInstants(after, through time.Time) []time.Time {
	loc := p.Location()
	var out []time.Time
	for m := MonthOf(after, loc); !MonthOf(through, loc).Before(m); m = m.Next() {
		for _, b := range p.monthInstants(m) {
			if b.After(after) && b.Before(through) {
				out = append(out, b)
			}
		}
	}
	return out
}

// monthInstants are month m's instants of JobInstants, in order, once each.
func (p Policy) monthInstants(m Month) []time.Time {
	loc := p.Location()
	day := func(d int) time.Time { return time.Date(m.Year, m.Month, d, 0, 0, 0, 0, loc) }
	all := []time.Time{day(1), day(p.IssueDay), p.TaxInvoiceDate(m.Prev()),
		time.Date(m.Year, m.Month, m.Days(), p.InstantPayCloseHour, 0, 0, 0, loc)}
	for d := p.RegularPaymentFirstDay; d <= p.RegularPaymentLastDay+1; d++ {
		all = append(all, day(d))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	out := all[:0]
	for _, t := range all {
		if len(out) == 0 || !t.Equal(out[len(out)-1]) {
			out = append(out, t)
		}
	}
	return out
}

// phaseOf is the phase instant t belongs to: the first calendar instant at
// or after it. Runs at instants of one phase may run side by side on
// replicas; a phase begins once every run of the phase before has ended.
func (p Policy) PhaseOf(t time.Time) time.Time {
	m := MonthOf(t, p.Location())
	for _, b := range append(p.monthInstants(m), p.monthInstants(m.Next())...) {
		if !b.Before(t) {
			return b
		}
	}
	return t // unreachable: a month has instants
}

// ParseDay reads "YYYY-MM-DD" as midnight UTC of that calendar day; days are
// calendar dates in the policy's zone, kept zone-free in storage.
func ParseDay(field, s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, kernel.FieldError(field, "%q is not a date (YYYY-MM-DD)", kernel.Clip(s))
	}
	return t, nil
}
