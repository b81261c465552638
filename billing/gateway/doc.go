// Package gateway is the seam to the payment company: the Gateway
// interface a real adapter implements and the sandbox used outside
// production, with its test cards and signed notifications.
package gateway
