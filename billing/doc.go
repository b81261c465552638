// Package billing holds cloudbill's domain rules — the billing calendar,
// rating, credit allocation, invoicing and payments — as plain Go that is
// testable without HTTP. Resolvers in graph/ delegate here.
//
// It is being split into packages by domain (docs/architecture.md):
// billing/kernel (errors, money, bounds, transactions), billing/calendar
// (the policy, months, clocks and the billing calendar), billing/rating
// (pure pricing and credit allocation), billing/documents, billing/locale
// and billing/notify; the Engine's use cases follow.
package billing
