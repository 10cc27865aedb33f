"""The demo firm: a whole law firm generated deterministically (contract: docs/demo-firm.md).

Modules by domain: ``scales`` (sizes, fixed dates), ``people`` (timekeepers, rates),
``matters`` (clients, matters, teams), ``timekeeping`` (time and expense entries),
``billing`` (monthly invoices and lines), ``anomalies`` (planted OCG breaks),
``rules_files`` (OCG rules per e-billed client), ``ebilling`` (platform workflow),
``payments`` (receipts, AR write-offs), ``calendar_events``, ``sales`` (the finance system),
``ledes_files`` (LEDES 1998B), ``ground_truth``, ``systems`` (Clio/Actionstep/e-billing shapes),
``schema`` (every table declared once) and ``generator`` (``generate(scale, seed, out)``).
"""
