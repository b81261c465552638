package app_test

import (
	"testing"
	"time"
)

// the channel view shows disk usage in bytes, with the display unit
// its metric is priced in. The demo's support channel records 2.5 GB of
// disk on each of 11 days of October: 27.5 GB = 27.5 × 1024³ bytes, at 100
// a GB = 2,750.
func TestChannelDiskUsageInBytes(t *testing.T) {
	e, master := demoEnv(t, time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
	bg := e.mainGroup(master)
	d := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { channelUsage(month: "2026-10") { channel diskUsageFee { amount }
	  services { serviceCode apiCalls diskUsage diskUsageBytes diskUsageUnit } } } }`, map[string]any{"bg": bg})
	s := get(d, "billingGroup.channelUsage.0.services.0")
	if str(d, "billingGroup.channelUsage.0.channel") != "support" || str(s, "serviceCode") != "chat-channel" ||
		str(s, "diskUsageBytes") != "29527900160" || str(s, "diskUsage") != "27.5" || str(s, "diskUsageUnit") != "GB" ||
		str(d, "billingGroup.channelUsage.0.diskUsageFee.amount") != "2750" {
		t.Fatalf("channel usage = %v", d)
	}
}
