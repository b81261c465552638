package billing

import (
	"sort"
	"time"
)

// CreditRow is what allocation needs of an AVAILABLE credit.
type CreditRow struct {
	ID               string
	Type             string // FREE | PAID
	StartsAt, EndsAt time.Time
	CreatedAt        time.Time
	ServiceCodes     []string
	Remaining        int64
}

// CreditUse is what one credit paid of one line.
type CreditUse struct {
	CreditID string
	Line     int
	Amount   int64
}

// SortCredits puts credits in KakaoCloud's usage order: free before
// paid; free by earliest end, restricted-to-services before unrestricted at
// the same end; paid by earliest expiry; then creation time, then id.
func SortCredits(cs []CreditRow) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Type != b.Type {
			return a.Type == "FREE"
		}
		if !a.EndsAt.Equal(b.EndsAt) {
			return a.EndsAt.Before(b.EndsAt)
		}
		if a.Type == "FREE" {
			ar, br := len(a.ServiceCodes) > 0, len(b.ServiceCodes) > 0
			if ar != br {
				return ar
			}
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
}

// AllocateCredits pays lines (after discounts) with credits in the order of
// R-22, each credit paying the lines in invoice order. A credit pays only
// lines of its applicable services; free credits never pay marketplace or
// OS-image lines and pay only a month their usage period overlaps;
// paid credits pay an invoice issued while they are valid. It updates
// lines[i].Credit and the credits' Remaining, and returns each use.
func AllocateCredits(lines []Line, credits []CreditRow, m Month, issuedAt time.Time, loc *time.Location) []CreditUse {
	SortCredits(credits)
	monthStart, monthEnd := m.Start(loc), m.End(loc)
	var uses []CreditUse
	for ci := range credits {
		c := &credits[ci]
		switch c.Type {
		case "FREE":
			if !c.StartsAt.Before(monthEnd) || !c.EndsAt.After(monthStart) {
				continue
			}
		case "PAID":
			if issuedAt.Before(c.StartsAt) || !issuedAt.Before(c.EndsAt) {
				continue
			}
		}
		for li := range lines {
			if c.Remaining == 0 {
				break
			}
			l := &lines[li]
			if !appliesTo(c.ServiceCodes, l.ServiceCode) {
				continue
			}
			if c.Type == "FREE" && (l.Kind == "MARKETPLACE" || l.Kind == "OS_IMAGE") {
				continue
			}
			due := l.Determined()
			if due <= 0 {
				continue
			}
			amt := min(due, c.Remaining)
			l.Credit += amt
			c.Remaining -= amt
			uses = append(uses, CreditUse{CreditID: c.ID, Line: li, Amount: amt})
		}
	}
	return uses
}
