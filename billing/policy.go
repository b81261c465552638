package billing

import (
	"fmt"
	"sync"
	"time"

	_ "time/tzdata" // the policy's zone must load on machines without zoneinfo

	"github.com/shopspring/decimal"
)

// Policy is the billing calendar and its rates. NCP's values are
// the default; ChannelSaaSPolicy is the second preset.
type Policy struct {
	Name     string
	TimeZone string
	Currency string
	// Day of the month the previous month's invoice is issued.
	IssueDay int
	// Automatic payment runs on these days, inclusive.
	RegularPaymentFirstDay, RegularPaymentLastDay int
	// Instant payment opens at InstantPayOpenHour on IssueDay and closes at
	// InstantPayCloseHour on the month's last day.
	InstantPayOpenHour, InstantPayCloseHour int
	// Bank accounts register only outside [NoBankFromHour, NoBankUntilHour).
	NoBankFromHour, NoBankUntilHour int
	VATRate                         decimal.Decimal
	LateFeeRate                     decimal.Decimal // per month carried
	// Minimum outstanding amounts per method, minor units.
	MinTransferAmount, MinCardAmount int64
	// BonusTiers gives bonus coins on charges; DefaultBonusTiers when nil.
	BonusTiers []BonusTier
	// Limits bound the amounts mutations take (limits.go).
	Limits Limits
}

// NCPPolicy is NAVER Cloud Platform's calendar, the default.
func NCPPolicy() Policy {
	return Policy{
		Name: "NCP", TimeZone: "Asia/Seoul", Currency: "KRW",
		IssueDay:               3,
		RegularPaymentFirstDay: 10, RegularPaymentLastDay: 14,
		InstantPayOpenHour: 14, InstantPayCloseHour: 22,
		NoBankFromHour: 23, NoBankUntilHour: 9,
		VATRate:           decimal.RequireFromString("0.1"),
		LateFeeRate:       decimal.RequireFromString("0.015"),
		MinTransferAmount: 3000, MinCardAmount: 1000,
		Limits: DefaultLimits(),
	}
}

// ChannelSaaSPolicy models the channel SaaS: the card is charged
// automatically on the 5th.
func ChannelSaaSPolicy() Policy {
	p := NCPPolicy()
	p.Name = "CHANNEL_SAAS"
	p.IssueDay = 1
	p.RegularPaymentFirstDay, p.RegularPaymentLastDay = 5, 5
	return p
}

// PolicyByName returns a preset.
func PolicyByName(name string) (Policy, error) {
	switch name {
	case "", "NCP":
		return NCPPolicy(), nil
	case "CHANNEL_SAAS":
		return ChannelSaaSPolicy(), nil
	}
	return Policy{}, fmt.Errorf("unknown billing policy %q (NCP, CHANNEL_SAAS)", name)
}

// Location is the policy's time zone.
func (p Policy) Location() *time.Location {
	// Loaded once per zone: time.LoadLocation reads the zone file each time,
	// and views ask for the location many times a request.
	if loc, ok := locations.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.FixedZone(p.TimeZone, 9*3600)
	}
	locations.Store(p.TimeZone, loc)
	return loc
}

var locations sync.Map // time zone name → *time.Location
