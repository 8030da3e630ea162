from django.contrib import admin

from sso.models import CompanySignOn


@admin.register(CompanySignOn)
class CompanySignOnAdmin(admin.ModelAdmin):
    list_display = ["company", "app", "enabled", "updated_at"]
    list_select_related = ["company", "app"]
