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

// OutstandingFrom is when month m's unpaid invoice turns outstanding: after
// the regular payment period, or for direct deposit at 22:00 on the last
// day of the payment month.
func (p Policy) OutstandingFrom(m Month, directDeposit bool) time.Time {
	n := m.Next()
	if directDeposit {
		return time.Date(n.Year, n.Month, n.Days(), p.InstantPayCloseHour, 0, 0, 0, p.Location())
	}
	return time.Date(n.Year, n.Month, p.RegularPaymentLastDay+1, 0, 0, 0, 0, p.Location())
}

// MonthsCarried counts how many months an unpaid invoice of month m has been
// carried past its payment month at t: one late fee each.
func (p Policy) MonthsCarried(m Month, t time.Time) int {
	payMonth := m.Next()
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
