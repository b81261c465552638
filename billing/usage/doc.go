// Package usage records what customers use: batches of usage
// events, checked against the catalog and refused whole when any event is
// wrong, kept once per event id, and added up into the daily rollups and
// the month's amount ceilings that rating and the bounds read. It knows
// nothing of invoices beyond the month close's lock (kernel.IssueLockKey):
// a month whose invoice is issued takes no more usage.
//
// Service owns the use case; the dialect-specific statement of each
// database (RecordEventsSQL on PostgreSQL, a few plain ones on SQLite) sits
// beside it.
package usage
