// Package doctest reads back the documents cloudbill renders, for tests: the
// text a PDF shows, as a reader extracts it.
package doctest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf16"
)

var (
	streamRe = regexp.MustCompile(`(?s)/Filter\s*/FlateDecode[^>]*>>\s*stream\r?\n`)
	// A text-showing operator's string: (…) Tj, or the strings of [(…) n (…)] TJ.
	showRe = regexp.MustCompile(`(?s)\(((?:\\.|[^\\)])*)\)\s*Tj|\[((?:\([^)]*\)|[^\]])*)\]\s*TJ`)
	partRe = regexp.MustCompile(`(?s)\(((?:\\.|[^\\)])*)\)`)
)

// PDFText is the text of a PDF written with embedded Unicode fonts (the
// strings of its content streams, in UTF-16BE as fpdf writes them for UTF-8
// fonts), one shown string a line, in page order.
func PDFText(pdf []byte) (string, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return "", fmt.Errorf("not a PDF (%d bytes)", len(pdf))
	}
	var out strings.Builder
	for _, loc := range streamRe.FindAllIndex(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(pdf[loc[1]:]))
		if err != nil {
			continue // not a content stream we can read (fonts are flate too, and fine)
		}
		content, _ := io.ReadAll(zr) // a truncated tail after the stream's end is expected
		if !bytes.Contains(content, []byte("BT")) {
			continue
		}
		for _, m := range showRe.FindAllSubmatch(content, -1) {
			if m[1] != nil {
				out.WriteString(decode(unescape(m[1])))
			} else {
				for _, p := range partRe.FindAllSubmatch(m[2], -1) {
					out.WriteString(decode(unescape(p[1])))
				}
			}
			out.WriteByte('\n')
		}
	}
	return out.String(), nil
}

// unescape undoes a PDF literal string's escapes.
func unescape(s []byte) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n := 0, 0
			for n < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7' {
				v = v*8 + int(s[i]-'0')
				i, n = i+1, n+1
			}
			i--
			b = append(b, byte(v))
		default:
			b = append(b, s[i])
		}
	}
	return b
}

// decode reads UTF-16BE (a string of a Unicode font); anything else is
// returned as it is.
func decode(b []byte) string {
	if len(b)%2 != 0 {
		return string(b)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}
