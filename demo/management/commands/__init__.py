"""`python manage.py <command>` entry points (seed_demo)."""
