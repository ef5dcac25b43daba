"""The trust console: pages for trust officers and staff, and the regional transparency report.

* :mod:`shopreel.trust.pages` — the HTML router (prefix ``/trust``);
* :mod:`shopreel.trust.report` — the transparency report, computed only from the audit log.

See ``docs/trust-console.md``.
"""
