"""Writes on certification orders: each transition is one function, in the module of its
sub-domain (`creation`, `application_data`, `checklist`, `steps`, `submission`, `review`,
`invoices`, `sweeps`; `fees` and `account_certification` compute and clear; `common` and
`errors` are shared). Import from the sub-module: this package re-exports nothing.

Every function takes keyword-only arguments, runs in one transaction, locks the
order (`select_for_update`), checks the current status (a transition: against its row
in `certification.transitions`, `common._require_transition`), raises
`CertificationError` (a translated ValidationError naming the field/reason) otherwise,
and writes an `OrderEvent` (who, when, why, from → to).
"""
