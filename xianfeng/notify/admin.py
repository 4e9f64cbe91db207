from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin
from xianfeng.jobs.access import is_system_admin

from .models import (
    ChannelPreference,
    Delivery,
    DeliveryAttempt,
    GroupPost,
    GroupRobot,
    Notification,
    SmsMessage,
    WebhookEndpoint,
)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "ok", "error", "response", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "notification", "channel", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("channel", "status")
    inlines = [AttemptInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "kind", "subject", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("subject", "key")
    # notifications are sent with notify() and marked read by their recipient


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "phone", "text", "reference")
    readonly_fields = ("created_at", "phone", "text", "reference")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyAdmin(admin.ModelAdmin):
    """Users change these on their preferences page (through the services, audited); the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(ViewOnlyAdmin):
    list_display = ("user", "kind", "in_app", "email", "sms", "webhook", "voice")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ViewOnlyAdmin):
    list_display = ("user", "url", "is_active", "created_at")
    exclude = ("secret",)


@admin.register(GroupRobot)
class GroupRobotAdmin(admin.ModelAdmin):
    """Organisations' DingTalk/WeCom group robots (docs/DEPLOYMENT.md): set up by system administrators."""

    list_display = ("name", "org", "platform", "kinds", "is_active", "created_at")
    list_filter = ("platform", "is_active")
    raw_id_fields = ("org",)

    def has_module_permission(self, request):
        return is_system_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request.user)

    def has_add_permission(self, request):
        return is_system_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_system_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # switched off instead: other processes keep the list of robots for a few seconds


@admin.register(GroupPost)
class GroupPostAdmin(ViewOnlyAdmin):
    list_display = ("subject", "robot", "kind", "status", "attempts", "last_error", "created_at")
    list_filter = ("status",)
