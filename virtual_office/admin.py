from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from virtual_office.models import Company, User


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "company", "title", "is_company_admin", "is_active"]
    list_filter = ["company", "is_company_admin", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "email"]
    list_select_related = ["company"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),
        ("Virtual Office", {"fields": ["company", "display_name", "title", "avatar_colour", "is_company_admin"]}),
    ]
