package kernel

import (
	"strconv"
	"time"
)

// PGArray writes a PostgreSQL array literal ({"a","b"}) in one buffer. A
// usage batch sends eleven columns of a thousand values; pq.StringArray
// copies each column three or four times on its way to the wire, this
// once, and timestamps and ids go in without intermediate strings.
type PGArray struct{ b []byte }

// newPGArray sizes the buffer for n elements of about width bytes.
func NewPGArray(n, width int) *PGArray {
	b := make([]byte, 1, 2+n*(width+3))
	b[0] = '{'
	return &PGArray{b}
}

func (a *PGArray) sep() {
	if len(a.b) > 1 {
		a.b = append(a.b, ',')
	}
}

// text adds one element, quoted; inside quotes only '"' and '\' need a
// backslash.
func (a *PGArray) Text(s string) {
	a.sep()
	a.b = append(a.b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			a.b = append(a.b, '\\', c)
		} else {
			a.b = append(a.b, c)
		}
	}
	a.b = append(a.b, '"')
}

// bytes adds an element known to need no quoting (ids, numbers).
func (a *PGArray) Bytes(s []byte) {
	a.sep()
	a.b = append(a.b, s...)
}

func (a *PGArray) Int64(n int64) {
	a.sep()
	a.b = strconv.AppendInt(a.b, n, 10)
}

// time adds an instant in RFC 3339 with its fraction, in UTC.
func (a *PGArray) Time(t time.Time) {
	a.sep()
	a.b = append(a.b, '"')
	a.b = t.UTC().AppendFormat(a.b, time.RFC3339Nano)
	a.b = append(a.b, '"')
}

// String closes the literal.
func (a *PGArray) String() string { return string(append(a.b, '}')) }
