"""Shapes only: no logic here (reads are selectors, writes are services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from triage.models import Analysis, AuditEvent, Message, ReplyDraft, Ticket, TicketNote
from triage.services.reply_approval import reply_version


class TicketListSerializer(serializers.ModelSerializer):
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)
    sentiment = serializers.CharField(source="shown_sentiment", read_only=True)
    intent_label = serializers.CharField(source="shown_intent", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "customer_email",
            "customer_name",
            "status",
            "priority",
            "sentiment",
            "sentiment_score",
            "intent_label",
            "language",
            "assigned_to",
            "due_at",
            "latest_answer",
            "draft_status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnalysisSerializer(serializers.ModelSerializer):
    class Meta:
        model = Analysis
        fields = ["step", "result", "error", "model", "is_tiny", "created_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    analyses = AnalysisSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "message_id",
            "from_address",
            "from_name",
            "subject",
            "text_body",
            "received_at",
            "triage_status",
            "analyses",
        ]
        read_only_fields = fields


class DraftSerializer(serializers.ModelSerializer):
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.SerializerMethodField(
        help_text="Send it back with approve: what you read is what is sent."
    )

    class Meta:
        model = ReplyDraft
        fields = [
            "id",
            "ticket",
            "status",
            "text",
            "text_customer_language",
            "customer_language",
            "created_by",
            "approved_by",
            "approved_at",
            "rejected_reason",
            "sent_at",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_version(self, draft: ReplyDraft) -> str:
        return reply_version(draft)


class AuditSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "detail", "created_at"]
        read_only_fields = fields


class TicketDetailSerializer(TicketListSerializer):
    messages = MessageSerializer(many=True, read_only=True)
    drafts = DraftSerializer(many=True, read_only=True)
    audit = AuditSerializer(source="audit_events", many=True, read_only=True)

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "agent_sentiment",
            "agent_intent",
            "messages",
            "drafts",
            "audit",
        ]
        read_only_fields = fields


class TicketUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    agent_sentiment = serializers.CharField(
        max_length=32, required=False, allow_blank=True
    )
    agent_intent = serializers.CharField(
        max_length=64, required=False, allow_blank=True
    )


class DraftEditSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    text_customer_language = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )


class DraftApproveSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The draft's `version` you read.")


class DraftRejectSerializer(serializers.Serializer):
    reason = serializers.CharField()


class AssignSerializer(serializers.Serializer):
    tickets = serializers.ListField(child=serializers.IntegerField(), max_length=500)
    assignee = serializers.CharField(
        allow_null=True, help_text="A username, or null to unassign."
    )


class AssignResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField()


class CustomerSerializer(serializers.Serializer):
    customer_email = serializers.CharField()
    tickets = serializers.IntegerField()
    last_ticket_at = serializers.DateTimeField()


class TicketMessageFilterSerializer(serializers.Serializer):
    """A ticket's messages' query parameters (validated: a bad one is a 400)."""

    direction = serializers.ChoiceField(
        choices=Message.Direction.choices, required=False
    )
    triage_status = serializers.ChoiceField(
        choices=Message.TriageStatus.choices, required=False
    )
    received_after = serializers.DateTimeField(required=False)


class MessageFilterSerializer(TicketMessageFilterSerializer):
    ticket = serializers.IntegerField(required=False, min_value=1)


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TicketNote
        fields = ["id", "ticket", "author", "body", "created_at"]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer):
    # Length and blank checks are the service's (the dashboard's form's too).
    body = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="Internal, never sent to the customer; `@username` notifies.",
    )
