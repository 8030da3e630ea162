"""Domain signals of single sign-on, sent by its services inside the transaction that made the change.

- `sign_on_changed(sender=CompanySignOn, actor, company, action, detail)`: a company admin set up,
  changed or removed the company's provider (`action` `sso.updated` or `sso.deleted`; `detail` the
  issuer, client id, domains and whether it is on, never the secret). The console's audit log listens.
"""

from django.dispatch import Signal

sign_on_changed = Signal()
