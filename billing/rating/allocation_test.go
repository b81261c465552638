package rating

import (
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
)

var kst = time.FixedZone("KST", 9*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, kst)
	if err != nil {
		panic(err)
	}
	return t
}

// free before paid; free by earliest end, restricted before
// unrestricted at the same end; paid by earliest expiry; then creation time,
// then id.
func TestSortCreditsUsageOrder(t *testing.T) {
	cs := []CreditRow{
		{ID: "paid-late", Type: "PAID", EndsAt: at("2031-01-01 00:00"), CreatedAt: at("2026-01-01 00:00")},
		{ID: "paid-early", Type: "PAID", EndsAt: at("2030-01-01 00:00"), CreatedAt: at("2026-01-01 00:00")},
		{ID: "free-late", Type: "FREE", EndsAt: at("2027-01-01 00:00"), CreatedAt: at("2026-01-01 00:00")},
		{ID: "free-b", Type: "FREE", EndsAt: at("2026-12-01 00:00"), CreatedAt: at("2026-02-01 00:00")},
		{ID: "free-a", Type: "FREE", EndsAt: at("2026-12-01 00:00"), CreatedAt: at("2026-02-01 00:00")},
		{ID: "free-restricted", Type: "FREE", EndsAt: at("2026-12-01 00:00"), CreatedAt: at("2026-03-01 00:00"), ServiceCodes: []string{"server"}},
		{ID: "free-older", Type: "FREE", EndsAt: at("2026-12-01 00:00"), CreatedAt: at("2026-01-01 00:00")},
	}
	SortCredits(cs)
	want := []string{"free-restricted", "free-older", "free-a", "free-b", "free-late", "paid-early", "paid-late"}
	for i, w := range want {
		if cs[i].ID != w {
			t.Fatalf("order = %v, want %v", ids(cs), want)
		}
	}
}

func ids(cs []CreditRow) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// a credit pays only its services' lines, in line order; free
// credits never pay marketplace or OS-image lines; paid ones do; a free
// credit whose period starts after the month pays nothing of it.
func TestAllocateCredits(t *testing.T) {
	m := calendar.Month{Year: 2026, Month: 10}
	issued := at("2026-11-03 00:00")
	lines := []Line{
		{Region: "kr-central", ServiceCode: "api", Kind: "STANDARD", Used: 1000},
		{Region: "kr-central", ServiceCode: "market", Kind: "MARKETPLACE", Used: 30000},
		{Region: "kr-central", ServiceCode: "server", Kind: "STANDARD", Used: 5000, Discount: 500},
		{Region: "kr-south", ServiceCode: "winimg", Kind: "OS_IMAGE", Used: 2000},
	}
	credits := []CreditRow{
		{ID: "free-server", Type: "FREE", StartsAt: at("2026-09-01 00:00"), EndsAt: at("2026-12-01 00:00"), ServiceCodes: []string{"server"}, Remaining: 1000},
		{ID: "free-all", Type: "FREE", StartsAt: at("2026-09-01 00:00"), EndsAt: at("2026-12-01 00:00"), Remaining: 100000},
		{ID: "free-future", Type: "FREE", StartsAt: at("2026-11-01 00:00"), EndsAt: at("2027-02-01 00:00"), Remaining: 100000},
		{ID: "paid", Type: "PAID", StartsAt: at("2026-01-01 00:00"), EndsAt: at("2031-01-01 00:00"), Remaining: 31000},
		{ID: "paid-expired", Type: "PAID", StartsAt: at("2021-01-01 00:00"), EndsAt: at("2026-11-02 00:00"), Remaining: 5000},
	}
	uses := AllocateCredits(lines, credits, m, issued, kst)
	wantCredit := []int64{1000, 30000, 4500, 1000}
	for i, w := range wantCredit {
		if lines[i].Credit != w {
			t.Errorf("line %d (%s) credit = %d, want %d", i, lines[i].ServiceCode, lines[i].Credit, w)
		}
	}
	rem := map[string]int64{}
	for _, c := range credits {
		rem[c.ID] = c.Remaining
	}
	// free-server pays 1000 of server; free-all pays api 1000 + server 3500;
	// paid pays market 30000 + winimg 1000.
	want := map[string]int64{"free-server": 0, "free-all": 95500, "free-future": 100000, "paid": 0, "paid-expired": 5000}
	for id, w := range want {
		if rem[id] != w {
			t.Errorf("%s remaining = %d, want %d", id, rem[id], w)
		}
	}
	var total int64
	for _, u := range uses {
		total += u.Amount
	}
	if total != 36500 {
		t.Errorf("total used = %d, want 36500", total)
	}
}

// the invoice of a month is issued on the policy's issue day of the
// next month; DueMonth tells which month is due at an instant.
func TestDueMonthAndIssueInstant(t *testing.T) {
	p := calendar.NCPPolicy()
	loc := p.Location()
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 2, 23, 59, 59, 0, loc), "2026-09"},
		{time.Date(2026, 11, 3, 0, 0, 0, 0, loc), "2026-10"},
		{time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC), "2026-10"}, // 00:00 KST on the 3rd
		{time.Date(2027, 1, 3, 0, 0, 0, 0, loc), "2026-12"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, loc), "2026-11"},
	}
	for _, c := range cases {
		if got := p.DueMonth(c.at).String(); got != c.want {
			t.Errorf("DueMonth(%s) = %s, want %s", c.at, got, c.want)
		}
	}
	if got := p.IssuedAt(calendar.Month{Year: 2026, Month: 12}); !got.Equal(time.Date(2027, 1, 3, 0, 0, 0, 0, loc)) {
		t.Errorf("IssuedAt(2026-12) = %s", got)
	}
	if calendar.ChannelSaaSPolicy().RegularPaymentFirstDay != 5 {
		t.Error("the channel SaaS preset charges on the 5th (R-48)")
	}
}

// money strings are exact; amounts with more precision than the
// currency, zero, negative, exponent forms and overflow are refused.
func TestParseAmount(t *testing.T) {
	good := map[string]int64{"1": 1, "100000": 100000, "0012": 12}
	for s, want := range good {
		if got, err := kernel.ParseAmount(s, "KRW", "amount"); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if got, err := kernel.ParseAmount("12.34", "USD", "amount"); err != nil || got != 1234 {
		t.Errorf("USD 12.34 = %d, %v", got, err)
	}
	for _, s := range []string{"0", "-5", "1.5", "1e3", "", " 1", "abc", "99999999999999999999999", "NaN", "1_000"} {
		if _, err := kernel.ParseAmount(s, "KRW", "amount"); err == nil {
			t.Errorf("ParseAmount(%q) accepted", s)
		} else if be, ok := kernel.AsError(err); !ok || be.Code != kernel.CodeBadUserInput || be.Field != "amount" {
			t.Errorf("ParseAmount(%q) error = %v, want BAD_USER_INPUT on amount", s, err)
		}
	}
	if got := kernel.FormatMinor(1234, "USD"); got != "12.34" {
		t.Errorf("FormatMinor = %s", got)
	}
}

// which days of a month a credit pays — every day (KST) it is valid
// at any instant of; its period is [startsAt, endsAt).
func TestCreditDays(t *testing.T) {
	m := calendar.Month{Year: 2026, Month: 10}
	issued := at("2026-11-03 00:00")
	free := func(from, until time.Time) CreditRow { return CreditRow{Type: "FREE", StartsAt: from, EndsAt: until} }
	cases := []struct {
		name string
		c    CreditRow
		want DayRange
		ok   bool
	}{
		{"the whole month and more", free(at("2026-09-01 00:00"), at("2026-12-01 00:00")), DayRange{1, 31}, true},
		{"from 00:00 on the 16th", free(at("2026-10-16 00:00"), at("2026-12-01 00:00")), DayRange{16, 31}, true},
		{"from 14:30 on the 16th: the 16th counts", free(at("2026-10-16 14:30"), at("2026-12-01 00:00")), DayRange{16, 31}, true},
		{"until 00:00 on the 11th: the 10th is the last day", free(at("2026-09-01 00:00"), at("2026-10-11 00:00")), DayRange{1, 10}, true},
		{"until 00:00:01 on the 11th: the 11th counts", free(at("2026-09-01 00:00"), at("2026-10-11 00:00").Add(time.Second)), DayRange{1, 11}, true},
		{"until 00:00 KST on the 11th, given in UTC", free(at("2026-09-01 00:00"), time.Date(2026, 10, 10, 15, 0, 0, 0, time.UTC)), DayRange{1, 10}, true},
		{"ends as the month begins", free(at("2026-09-01 00:00"), at("2026-10-01 00:00")), DayRange{}, false},
		{"starts as the month ends", free(at("2026-11-01 00:00"), at("2026-12-01 00:00")), DayRange{}, false},
		{"one day", free(at("2026-10-07 09:00"), at("2026-10-07 18:00")), DayRange{7, 7}, true},
		{"paid, valid at the issue", CreditRow{Type: "PAID", StartsAt: at("2026-10-20 00:00"), EndsAt: at("2031-10-20 00:00")}, DayRange{1, 31}, true},
		{"paid, expired before the issue", CreditRow{Type: "PAID", StartsAt: at("2021-10-20 00:00"), EndsAt: at("2026-11-02 00:00")}, DayRange{1, 31}, false},
	}
	for _, c := range cases {
		got, ok := CreditDays(c.c, m, issued, kst)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// by hand: October 2026 (31 days), rated from usage
// by day. Lines, in invoice order:
//
//	api:    3 calls × 0.5 on the 12th = 1.5 → 2
//	lb:     18,000 held all month (18,000/31 a day), 10% discount → 16,200 left for credits
//	server: 100 h × 85 on the 5th (8,500) and on the 20th (8,500) = 17,000
//
// Credits in R-22 order: "until10" (valid to 00:00 on the 11th); then, all
// from 14:30 on the 16th (the 16th counts) to December: "lb-only"
// (restricted, so first), "a" (3,000 left, older) and "b" competing for
// the same days.
//
//	until10 on lb:  ⌊16,200 × 10/31⌋ = ⌊5,225.81⌋ = 5,225; on server the 5th: 8,500; nothing of api (the 12th)
//	lb-only on lb:  ⌊16,200 × 16/31⌋ = ⌊8,361.29⌋ → its 5,000; 3,361.29 left on the 16th–31st
//	a on lb:        ⌊3,361.29⌋ = 3,361 → its 3,000; 361.29 left
//	b on lb:        ⌊361.29⌋ = 361; on server the 20th: 8,500
//
// lb: 5,225 + 5,000 + 3,000 + 361 = 13,586 of credits, 2,614 determined (the
// 11th–15th are 2,612.90; the floors left 1.10). api stays 2.
func TestAllocateCreditsByDay(t *testing.T) {
	m := calendar.Month{Year: 2026, Month: 10}
	svcs := map[string]ServiceInfo{"api": {Code: "api", Kind: "STANDARD"}, "lb": {Code: "lb", Kind: "STANDARD"}, "server": {Code: "server", Kind: "STANDARD"}}
	usage := []UsageRow{
		{ServiceCode: "api", Region: "kr-central", Metric: "call", Day: 12, Micros: 3_000_000},
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 5, Micros: 100_000_000},
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 20, Micros: 100_000_000},
	}
	lines, err := Rate(m, "KRW", svcs, testPrices, usage, []ContractRow{{ServiceCode: "lb", Region: "kr-central", StartsOn: day("2026-09-01")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0].Used != 2 || lines[1].Used != 18000 || lines[2].Used != 17000 {
		t.Fatalf("lines = %+v", lines)
	}
	ApplyDiscounts(lines, []DiscountRow{{ID: "d", Percentage: d("10"), ServiceCodes: []string{"lb"}}}, 0)
	from16, dec := at("2026-10-16 14:30"), at("2026-12-01 00:00")
	credits := []CreditRow{
		{ID: "b", Type: "FREE", StartsAt: from16, EndsAt: dec, CreatedAt: at("2026-10-02 00:00"), Remaining: 100000},
		{ID: "a", Type: "FREE", StartsAt: from16, EndsAt: dec, CreatedAt: at("2026-10-01 00:00"), Remaining: 3000},
		{ID: "lb-only", Type: "FREE", StartsAt: from16, EndsAt: dec, CreatedAt: at("2026-10-03 00:00"), ServiceCodes: []string{"lb"}, Remaining: 5000},
		{ID: "until10", Type: "FREE", StartsAt: at("2026-09-01 00:00"), EndsAt: at("2026-10-11 00:00"), Remaining: 100000},
	}
	uses := AllocateCredits(lines, credits, m, at("2026-11-03 00:00"), kst)
	type key struct {
		credit, service string
	}
	got := map[key]int64{}
	for _, u := range uses {
		got[key{u.CreditID, lines[u.Line].ServiceCode}] += u.Amount
	}
	want := map[key]int64{{"until10", "lb"}: 5225, {"until10", "server"}: 8500, {"lb-only", "lb"}: 5000,
		{"a", "lb"}: 3000, {"b", "lb"}: 361, {"b", "server"}: 8500}
	if len(got) != len(want) {
		t.Errorf("uses = %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s paid %d of %s, want %d", k.credit, got[k], k.service, w)
		}
	}
	for i, w := range []int64{2, 2614, 0} {
		if lines[i].Determined() != w {
			t.Errorf("%s determined %d, want %d", lines[i].ServiceCode, lines[i].Determined(), w)
		}
	}
	// Days are needed only when some free credit pays part of the month.
	whole := []CreditRow{{ID: "w", Type: "FREE", StartsAt: at("2026-09-01 00:00"), EndsAt: dec, Remaining: 20000}}
	if NeedsDays(whole, m, at("2026-11-03 00:00"), kst) || !NeedsDays(credits, m, at("2026-11-03 00:00"), kst) {
		t.Error("NeedsDays")
	}
}
