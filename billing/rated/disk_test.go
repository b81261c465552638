package rated

import "testing"

func TestDiskUnit(t *testing.T) {
	for metric, want := range map[string]string{"disk-gb": "GB 1073741824", "disk-tb": "TB 1099511627776",
		"disk-mb": "MB 1048576", "disk-kb": "KB 1024", "disk": "B 1", "disk-bytes": "B 1"} {
		u, size := DiskUnit(metric)
		if got := u + " " + size.String(); got != want {
			t.Errorf("DiskUnit(%q) = %s, want %s", metric, got, want)
		}
	}
}
