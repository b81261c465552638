// Package calendar is the platform's policy and the billing calendar built
// on it: months in the policy's time zone (KST for NCP), the instants the
// jobs run at (invoice issue, payment days, outstanding and late-fee dates,
// tax invoice dates), the VAT, late-fee and coin bonus rates, the limits on
// money in, and the clocks (system, offset, fixed) that tests set to exact
// instants. It does no I/O.
package calendar
