"""Single sign-on: a company signs its people in with its own OpenID Connect provider (django-allauth)."""
