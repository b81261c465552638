package billing

import "time"

// The billing calendar's instants (R-41..R-44), all in the policy's zone.

func (p Policy) local(t time.Time) time.Time { return t.In(p.Location()) }

// InRegularPeriod reports whether t is on a day of automatic payment.
func (p Policy) InRegularPeriod(t time.Time) bool {
	d := p.local(t).Day()
	return d >= p.RegularPaymentFirstDay && d <= p.RegularPaymentLastDay
}

// InstantPayOpen reports whether instant payment is open at t: from
// InstantPayOpenHour on the issue day to InstantPayCloseHour on the last day
// of the month, except on the days of the regular payment period.
func (p Policy) InstantPayOpen(t time.Time) bool {
	l := p.local(t)
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
