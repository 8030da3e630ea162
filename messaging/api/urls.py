from django.urls import path

from messaging.api import views

urlpatterns = [
    path("conversations/", views.ConversationListView.as_view(), name="conversation-list"),
    path("conversations/direct/", views.DirectConversationView.as_view(), name="conversation-direct"),
    path("conversations/<int:conversation_id>/", views.ConversationDetailView.as_view(), name="conversation-detail"),
    path("conversations/<int:conversation_id>/messages/", views.MessageListView.as_view(), name="message-list"),
    path("conversations/<int:conversation_id>/changes/", views.ChangesView.as_view(), name="conversation-changes"),
    path("conversations/<int:conversation_id>/read/", views.ReadView.as_view(), name="conversation-read"),
    path("attachments/<int:attachment_id>/", views.AttachmentDownloadView.as_view(), name="attachment-download"),
    path("messages/<int:message_id>/", views.MessageDetailView.as_view(), name="message-detail"),
    path("messages/<int:message_id>/thread/", views.MessageThreadView.as_view(), name="message-thread"),
    path("messages/<int:message_id>/reactions/", views.ReactionListView.as_view(), name="reaction-list"),
    path(
        "messages/<int:message_id>/reactions/<str:emoji>/", views.ReactionDetailView.as_view(), name="reaction-detail"
    ),
]
