from __future__ import annotations

import hashlib

import factory

from triage.models import Message, ReplyDraft, Ticket


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Order problem {n}")
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    customer_name = factory.Faker("name")


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; pass `groups=[...]` to give it a role."""

    class Meta:
        model = "auth.User"
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example-shop.test")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*extracted)
        if create:
            self.save()


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    source = "test"
    message_id = factory.Sequence(lambda n: f"<msg-{n}@example.com>")
    from_address = factory.SelfAttribute("ticket.customer_email")
    subject = factory.SelfAttribute("ticket.subject")
    text_body = "My order arrived broken. I want a refund."
    raw = factory.LazyAttribute(lambda o: o.text_body.encode())
    raw_size = factory.LazyAttribute(lambda o: len(o.raw))
    raw_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.raw).hexdigest())


class ReplyDraftFactory(factory.django.DjangoModelFactory):
    """A model-written draft for a message (fixture text, not model output)."""

    class Meta:
        model = ReplyDraft

    in_reply_to_message = factory.SubFactory(MessageFactory)
    ticket = factory.SelfAttribute("in_reply_to_message.ticket")
    text = "Dear customer, we are sorry. A replacement is on its way."
    created_by = ReplyDraft.Author.MODEL


def make_eml(
    *,
    body: str = "Hello, my parcel never arrived. Please refund me.",
    subject: str = "Parcel missing",
    sender: str = "Ada Customer <ada@example.com>",
    message_id: str | None = "<ada-1@example.com>",
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    """A small well-formed email built with the stdlib (for tests)."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example-shop.test"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 03 Nov 2025 09:14:22 +0000"
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    return msg.as_bytes()
