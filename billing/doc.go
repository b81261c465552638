// Package billing runs the billing calendar: the month close and its
// invoices (R-38, invoice.go), voids and reissues, contracts
// tax invoices and every step of the calendar's jobs
// (RunJobs), each a loop over its subjects — billing groups, invoices,
// payments, credits — that one domain service does, one subject failing
// without stopping the others (jobfailures.go).
//
// The domains are packages of their own, each with a Service
// (docs/architecture.md): billing/credits, billing/coins, billing/coupons,
// billing/payments, billing/creditnotes, billing/usage, billing/catalog,
// billing/budgets, billing/accounts, with rating's I/O in billing/rated
// and the pure rules in billing/rating and billing/calendar. The Engine
// wires them on one database (Engine.Credits(), Engine.Payments(), …), and
// moneyops.go holds the API's money-moving use cases end to end.
package billing
