"""Thin views: parse, call a selector or a service, serialize."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, pagination, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from triage import services
from triage.api import queries, serializers
from triage.api.permissions import PERM_VIEW_NOTE
from triage.models import Message, ReplyDraft, Ticket
from triage.selectors.notes import ticket_notes
from triage.selectors.overview_cache import overview_numbers
from triage.services.notes import PERM_ADD_NOTE, note_add
from triage.services.reply_common import PERM_ADD, PERM_APPROVE, PERM_EDIT


class TicketCursor(pagination.CursorPagination):
    # Newest first, stable under inserts (a cursor, not an offset).
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


_LIST_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=f"Filter on {column}.")
    for name, column in queries.LIST_FILTERS.items()
] + [
    OpenApiParameter("q", OpenApiTypes.STR, description="The dashboard's search."),
    OpenApiParameter(
        "created_after", OpenApiTypes.DATETIME, description="ISO 8601 timestamp."
    ),
]


@extend_schema(parameters=_LIST_PARAMS)
class TicketList(generics.ListAPIView):
    serializer_class = serializers.TicketListSerializer
    pagination_class = TicketCursor

    def get_queryset(self) -> QuerySet[Ticket]:
        params = self.request.query_params
        created_after: datetime | None = None
        if raw := params.get("created_after"):
            created_after = parse_datetime(raw)
            if created_after is None:
                raise exceptions.ValidationError(
                    {"created_after": "An ISO 8601 timestamp."}
                )
        return queries.api_ticket_list(
            filters={name: params.get(name) for name in queries.LIST_FILTERS},
            search=params.get("q", ""),
            created_after=created_after,
        )


class TicketDetail(APIView):
    @extend_schema(responses=serializers.TicketDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        ticket = get_object_or_404(queries.api_ticket_detail(), pk=pk)
        return Response(serializers.TicketDetailSerializer(ticket).data)

    @extend_schema(
        request=serializers.TicketUpdateSerializer,
        responses=serializers.TicketDetailSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        form = serializers.TicketUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        ticket = get_object_or_404(Ticket, pk=pk)
        # As the admin form does: new values on the instance, the service saves
        # and audits them.
        for name, value in form.validated_data.items():
            setattr(ticket, name, value)
        services.ticket_update(
            ticket=ticket, user=request.user, fields=form.validated_data
        )
        return self.get(request, pk)


def _draft_call(call: Callable[[], Any]) -> Response:
    try:
        draft = call()
    except ReplyDraft.DoesNotExist as exc:
        raise exceptions.NotFound() from exc
    except services.ReplyRefused as exc:
        return Response(
            {"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT
        )
    return Response(serializers.DraftSerializer(draft).data)


class DraftDetail(APIView):
    write_perm = PERM_EDIT

    @extend_schema(responses=serializers.DraftSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _draft_call(lambda: queries.api_draft(pk))

    @extend_schema(
        request=serializers.DraftEditSerializer, responses=serializers.DraftSerializer
    )
    def patch(self, request: Request, pk: int) -> Response:
        form = serializers.DraftEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _draft_call(
            lambda: services.reply_edit(
                draft_id=pk, user=request.user, **form.validated_data
            )
        )


class DraftApprove(APIView):
    write_perm = PERM_APPROVE

    @extend_schema(
        request=serializers.DraftApproveSerializer,
        responses=serializers.DraftSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        form = serializers.DraftApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _draft_call(
            lambda: services.reply_approve(
                draft_id=pk, user=request.user, version=form.validated_data["version"]
            )
        )


class DraftReject(APIView):
    write_perm = PERM_APPROVE

    @extend_schema(
        request=serializers.DraftRejectSerializer,
        responses=serializers.DraftSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        form = serializers.DraftRejectSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _draft_call(
            lambda: services.reply_reject(
                draft_id=pk, user=request.user, reason=form.validated_data["reason"]
            )
        )


class TicketAssign(APIView):
    """Assign tickets (the list's bulk action)."""

    @extend_schema(
        request=serializers.AssignSerializer,
        responses=serializers.AssignResultSerializer,
    )
    def post(self, request: Request) -> Response:
        form = serializers.AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["assignee"]
        assignee = None
        if username is not None:
            assignee = queries.api_assignable_user(username)
            if assignee is None:
                raise exceptions.ValidationError({"assignee": "No such active staff."})
        changed = services.ticket_assign(
            ticket_ids=form.validated_data["tickets"],
            assignee=assignee,
            actor=request.user,
        )
        return Response({"changed": changed})


class TicketDrafts(APIView):
    """An agent writes a reply on a ticket (a draft for an approver)."""

    write_perm = PERM_ADD

    @extend_schema(
        request=serializers.DraftEditSerializer,
        responses={201: serializers.DraftSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        form = serializers.DraftEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        get_object_or_404(Ticket.objects.only("pk"), pk=pk)
        response = _draft_call(
            lambda: services.reply_create(
                ticket_id=pk, user=request.user, **form.validated_data
            )
        )
        if response.status_code == status.HTTP_200_OK:
            response.status_code = status.HTTP_201_CREATED
        return response


class Overview(APIView):
    """The team leads' figures (the overview page's charts)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        # The page's numbers, from the same cache (beat keeps it warm): a script
        # polling the API does not recompute the aggregates on every call.
        per_day, intents, backlog, approval, _, speed = overview_numbers()
        return Response(
            {
                "tickets_per_day": per_day,
                "intent_mix": intents,
                "open_by_priority_age": backlog,
                "time_to_approval": approval,
                # Per step: mails analysed, median and 95th percentile ms per
                # email, share of the workers' time (what a monitor alerts on).
                "analysis_speed": speed,
            }
        )


class MessageCursor(pagination.CursorPagination):
    ordering = ("-received_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class MessageList(generics.ListAPIView):
    """Messages, newest first: their text and analyses, never the raw MIME."""

    serializer_class = serializers.MessageSerializer
    pagination_class = MessageCursor

    @extend_schema(parameters=[serializers.MessageFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Message]:
        form = serializers.MessageFilterSerializer(data=self.request.query_params)
        form.is_valid(raise_exception=True)
        return self.messages(dict(form.validated_data))

    @staticmethod
    def messages(filters: dict[str, Any]) -> QuerySet[Message]:
        received_after = filters.pop("received_after", None)
        return queries.api_message_list(filters=filters, received_after=received_after)


class TicketMessages(MessageList):
    """One ticket's messages, newest first."""

    @extend_schema(parameters=[serializers.TicketMessageFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        get_object_or_404(Ticket.objects.only("pk"), pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Message]:
        params = self.request.query_params
        form = serializers.TicketMessageFilterSerializer(data=params)
        form.is_valid(raise_exception=True)
        return self.messages({**form.validated_data, "ticket": self.kwargs["pk"]})


class TicketNotes(APIView):
    """A ticket's internal notes (never sent to the customer), oldest first."""

    read_perm = PERM_VIEW_NOTE
    write_perm = PERM_ADD_NOTE

    @extend_schema(responses=serializers.NoteSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        ticket = get_object_or_404(Ticket.objects.only("pk"), pk=pk)
        return Response(
            serializers.NoteSerializer(ticket_notes(ticket), many=True).data
        )

    @extend_schema(
        request=serializers.NoteCreateSerializer,
        responses={201: serializers.NoteSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        form = serializers.NoteCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            note = note_add(
                ticket_id=pk, user=request.user, body=form.validated_data["body"]
            )
        except Ticket.DoesNotExist as exc:
            raise exceptions.NotFound() from exc
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"body": exc.messages}) from exc
        return Response(
            serializers.NoteSerializer(note).data, status=status.HTTP_201_CREATED
        )


class MessageDetail(APIView):
    @extend_schema(responses=serializers.MessageSerializer)
    def get(self, request: Request, pk: int) -> Response:
        try:
            message = queries.api_message(pk)
        except Message.DoesNotExist as exc:
            raise exceptions.NotFound() from exc
        return Response(serializers.MessageSerializer(message).data)


class CustomerPages(pagination.PageNumberPagination):
    page_size = 50


@extend_schema(
    parameters=[
        OpenApiParameter("email", OpenApiTypes.STR, description="Address prefix.")
    ]
)
class CustomerList(generics.ListAPIView):
    serializer_class = serializers.CustomerSerializer
    pagination_class = CustomerPages

    def get_queryset(self) -> QuerySet[Any]:
        return queries.api_customers(self.request.query_params.get("email", ""))
