"""Tenancy: every row in Virtual Office belongs to one Company; people are Users of one company."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


AVATAR_COLOURS = ["#e76f51", "#2a9d8f", "#264653", "#e9c46a", "#8e44ad", "#3a86ff", "#fb5607", "#6a994e"]


class User(AbstractUser):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="users", null=True, blank=True)
    display_name = models.CharField(max_length=120, blank=True)
    title = models.CharField(max_length=120, blank=True)
    avatar_colour = models.CharField(max_length=7, blank=True)
    is_company_admin = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["company", "username"])]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.replace(".", " ").split() if p]
        letters = "".join(p[0] for p in parts[:2]) or self.username[:2]
        return letters.upper()

    @property
    def colour(self) -> str:
        if self.avatar_colour:
            return self.avatar_colour
        digest = hashlib.sha1(self.username.encode()).digest()
        return AVATAR_COLOURS[digest[0] % len(AVATAR_COLOURS)]
